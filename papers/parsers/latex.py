"""LaTeX leftovers in titles and abstracts, turned into the plain text they stand for.

arXiv abstracts are written in LaTeX and reach us half-converted: ``quotes'', "87.0\\%", "na\\"{\\i}ve",
"{\\tau}", "\\textbf{word}", and `\\href{url}{link}` flattened to "url{link}". Only unambiguous pieces are
converted; real maths such as "$I$-$V$" or "mathcal{O}(n)" is left as written.
"""

from __future__ import annotations

import re

# ``quotes'' (and the ''quotes'' some sources write) become typographic quotes. The opening '' must follow
# a space or bracket, so a prime such as f''(x) is left alone.
_QUOTES = re.compile(r"(?:``|(?<![\w'])'')([^`'\n]{1,300}?)''")
# `\href{url}{link}` loses its backslash upstream and shows up as "url{link}" or "{url{link}}".
_LINK_WORDS = r"link|here|this link|this url|url|this https url|this http url|code|website|project page"
# Linear by construction: the run before "{" is only tried from its first character (the look-behind) and
# never backtracked into (possessive), so every character is read once. A URL searched from each "http"
# instead rescanned the rest of the run from every one of them: "http://" * 10,000 + "{" took 14 s.
_RUN_THEN_LINK_WORD = re.compile(rf"(?<![^\s{{}}])([^\s{{}}]++)\{{(?:{_LINK_WORDS})\}}", re.IGNORECASE)
_URL_IN_RUN = re.compile(r"https?://.", re.IGNORECASE)
_BRACED_URL = re.compile(r"\{(https?://[^\s{}]+)\}")
# Accents ("Landauer-B\"uttiker", "na\"{\i}ve") become letter + combining mark; NFC later composes them.
_ACCENT = re.compile(r"""\\(["'`^~=.])\{?\\?([A-Za-z])\}?""")
_COMBINING = dict(zip("\"'`^~=.", "\u0308\u0301\u0300\u0302\u0303\u0304\u0307", strict=True))
# Text-style commands keep their argument: "Evo\textbf{Lved Sign Momentum}" -> "EvoLved Sign Momentum".
_TEXT_STYLE = re.compile(r"\\(?:textbf|textit|textrm|texttt|textsc|textsf|emph|mathrm|mathbf)\{([^{}]*)\}")
_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "iota": "ι",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Xi": "Ξ",
    "Pi": "Π",
    "Sigma": "Σ",
    "Upsilon": "Υ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
}
_GREEK_NAMES = "|".join(sorted(_GREEK, key=len, reverse=True))
# "{\tau}" loses its braces too, but only as a pair, so surrounding LaTeX keeps its balance.
_GREEK_LETTER = re.compile(rf"\{{\\({_GREEK_NAMES})\}}|\\({_GREEK_NAMES})(?![A-Za-z])")
# Abbreviation macros some authors define: "(\eg GPT-4)", "regularization, \etc."
_ABBREVIATIONS = {"eg": "e.g.", "ie": "i.e.", "etc": "etc", "etal": "et al.", "vs": "vs."}
_ABBREVIATION = re.compile(r"\\(eg|ie|etc|etal|vs)(?![A-Za-z])")
# A command name ends at the first non-letter ("\lambda_1"), hence (?![A-Za-z]) rather than \b here.
# Letters LaTeX writes as commands: "Polyak-\L ojasiewicz" -> "Polyak-Łojasiewicz".
_LETTERS = {"L": "Ł", "l": "ł", "o": "ø", "O": "Ø", "ss": "ß"}
_LETTER = re.compile(r"\\(L|l|o|O|ss)(?![A-Za-z]) ?")
# Escaped specials ("87.0\%", "Embedding\&MLP") mean the character itself.
_ESCAPE = re.compile(r"\\([%&_#$])")


def fix_latex(*, text: str) -> str:
    """Turn LaTeX leftovers into plain text; cheap `in` checks skip the regexes for ordinary text."""
    if "``" in text or "''" in text:
        text = _QUOTES.sub(lambda m: f"“{m.group(1)}”", text)
    if "{" in text:
        text = _BRACED_URL.sub(r"\1", _RUN_THEN_LINK_WORD.sub(_drop_link_word, text))
    if "\\" in text:
        text = _ACCENT.sub(lambda m: m.group(2) + _COMBINING[m.group(1)], text)
        text = _TEXT_STYLE.sub(r"\1", text)
        text = _GREEK_LETTER.sub(lambda m: _GREEK[m.group(1) or m.group(2)], text)
        text = _ABBREVIATION.sub(lambda m: _ABBREVIATIONS[m.group(1)], text)
        text = _LETTER.sub(lambda m: _LETTERS[m.group(1)], text)
        text = _ESCAPE.sub(r"\1", text)
    return text


def _drop_link_word(match: re.Match[str]) -> str:
    """ "see:https://x.org{link}" -> "see:https://x.org": the link word goes only when the run holds a URL."""
    run = match.group(1)
    return run if _URL_IN_RUN.search(run) else match.group(0)
