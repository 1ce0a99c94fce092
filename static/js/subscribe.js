// Progressive enhancement of the subscribe and manage forms; both work without this file.
// - time zone prefilled from the browser (still editable)
// - the weekday field shown only for the weekly digest
// - a live preview of what the interests would have caught among recent papers, each paper with why
//   (the words found, or a related passage), and a few related terms from the papers: one click adds one
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

  function renderPreview(box, data, onSuggestion) {
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
        item.appendChild(whyNode(paper));
        list.appendChild(item);
      });
      box.appendChild(list);
    });
    box.appendChild(suggestionsNode(data.suggestions, onSuggestion));
    box.hidden = false;
  }

  // Why the paper was picked: its words (highlighted in the snippet), or a related passage (quoted).
  function whyNode(paper) {
    var why = paper.why || { kind: "words" };
    if (why.kind !== "related") return snippetNode(paper.snippet);
    var span = document.createElement("span");
    span.className = "why-related";
    var label = document.createElement("em");
    label.textContent = "Related to " + why.interest + ": ";
    span.appendChild(label);
    var quote = document.createElement("q");
    quote.textContent = why.sentence;
    span.appendChild(quote);
    return span;
  }

  // "Related terms in the papers": buttons; a click adds the term as one more interest.
  function suggestionsNode(suggestions, onSuggestion) {
    var wrap = document.createElement("div");
    wrap.className = "suggestions";
    if (!suggestions || !suggestions.terms || !suggestions.terms.length) return wrap;
    var label = document.createElement("span");
    label.textContent = "Related terms in the papers for " + suggestions.interest + ": ";
    wrap.appendChild(label);
    suggestions.terms.forEach(function (term) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "suggestion";
      button.textContent = "+ " + term;
      button.dataset.term = term;
      button.addEventListener("click", function () { onSuggestion(term); });
      wrap.appendChild(button);
    });
    return wrap;
  }

  function livePreview(form) {
    var url = form.dataset.previewUrl;
    var input = form.querySelector("textarea[name=interests]");
    var box = form.querySelector("#preview");
    if (!url || !input || !box) return;
    var timer = null;
    var latest = 0;
    // A suggestion becomes an interest of its own line, and the preview follows.
    var addInterest = function (term) {
      var text = input.value.replace(/\s+$/, "");
      var present = text.split(/[\n,]/).map(function (line) { return line.trim().toLowerCase(); });
      if (present.indexOf(term.toLowerCase()) === -1) input.value = (text ? text + "\n" : "") + term;
      input.focus();
      refresh();
    };
    var refresh = function () {
      var text = input.value.trim();
      if (!text) { box.hidden = true; return; }
      var ticket = ++latest;
      fetch(url + "?" + new URLSearchParams({ interests: text }), { headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data && ticket === latest) renderPreview(box, data, addInterest); })
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
