// Progressive enhancement of the subscribe and manage forms; both work without this file.
// - time zone prefilled from the browser (still editable)
// - the weekday field shown only for the weekly digest
// - a live preview of what the interests would have caught among recent papers
(function () {
  "use strict";

  function prefillTimezone(form) {
    var select = form.querySelector("select[name=timezone]");
    if (!form.dataset.prefillTimezone || !select || form.querySelector(".has-error")) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && select.querySelector('option[value="' + CSS.escape(zone) + '"]')) select.value = zone;
  }

  function toggleWeekday(form) {
    var frequency = form.querySelector("select[name=frequency]");
    var weekday = form.querySelector("#field-weekday");
    if (!frequency || !weekday) return;
    var update = function () { weekday.hidden = frequency.value !== "weekly"; };
    frequency.addEventListener("change", update);
    update();
  }

  // Builds nodes with textContent only: paper text and interests never become markup.
  function snippetNode(segments) {
    var span = document.createElement("span");
    segments.forEach(function (segment) {
      var node = document.createElement(segment[1] ? "mark" : "span");
      node.textContent = segment[0];
      span.appendChild(node);
    });
    return span;
  }

  function renderPreview(box, data) {
    box.replaceChildren();
    var heading = document.createElement("strong");
    heading.textContent = "Among the last " + data.papers_considered + " papers, your interests would have caught:";
    box.appendChild(heading);
    (data.errors || []).forEach(function (message) {
      var p = document.createElement("p");
      p.className = "errors";
      p.textContent = message;
      box.appendChild(p);
    });
    // What the server cut to keep a preview cheap (too many exclusions or terms): said, not hidden.
    (data.notices || []).forEach(function (message) {
      var p = document.createElement("p");
      p.className = "cut";
      p.textContent = message;
      box.appendChild(p);
    });
    data.interests.forEach(function (result) {
      var h = document.createElement("h3");
      h.textContent = result.interest + " (" + result.count + ")";
      box.appendChild(h);
      if (!result.papers.length) {
        var none = document.createElement("p");
        none.className = "none";
        none.textContent = "Nothing recent: try another spelling or a broader term.";
        box.appendChild(none);
        return;
      }
      var list = document.createElement("ul");
      result.papers.forEach(function (paper) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.href = paper.url;
        link.textContent = paper.title;
        item.appendChild(link);
        item.appendChild(document.createElement("br"));
        item.appendChild(snippetNode(paper.snippet));
        list.appendChild(item);
      });
      box.appendChild(list);
    });
    box.hidden = false;
  }

  function livePreview(form) {
    var url = form.dataset.previewUrl;
    var input = form.querySelector("textarea[name=interests]");
    var box = form.querySelector("#preview");
    if (!url || !input || !box) return;
    var timer = null;
    var latest = 0;
    var refresh = function () {
      var text = input.value.trim();
      if (!text) { box.hidden = true; return; }
      var ticket = ++latest;
      fetch(url + "?" + new URLSearchParams({ interests: text }), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data && ticket === latest) renderPreview(box, data); })
        .catch(function () { /* the preview is a nicety; the form still works */ });
    };
    input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 350); });
    if (input.value.trim()) refresh();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.subscribe").forEach(function (form) {
      prefillTimezone(form);
      toggleWeekday(form);
      livePreview(form);
    });
  });
})();
