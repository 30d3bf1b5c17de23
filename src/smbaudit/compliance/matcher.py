"""Decide whether policy passages state a required element. Deterministic and explainable.

A passage states an element when (see docs/compliance.md for the full rules):
1. every phrasing group of the element matches a term in the passage (list items include
   their lead-in); at most one group may be matched only by the heading path or the previous
   sentence instead;
2. it is a statement of obligation or practice ("must", "is encrypted", "we review"), not a
   question, a plan ("we plan to"), an option ("may"), a reference ("see the X policy"), or a
   definition; table rows count as statements;
3. no negation covers a matched term in its clause ("we do not encrypt", "is not required",
   "no ... is performed", "without encryption"), unless the element is itself a prohibition;
4. it is not a passing mention: a list of topics ("training covers phishing, passwords and
   encryption"), or a list item under a lead-in that only lists topics;
5. it is not a look-alike: none of the element's `exclude` phrasings (another role, right, party
   or regime) in it, no `exclude_headings` term above it;
6. the periods it states keep within the rule (`max_number` / `min_number`: 60 days is not
   "within 72 hours").
Every decision carries a confidence and what it rests on; a "covered" decision below
REVIEW_BELOW needs an auditor's review and does not count until confirmed (reviews.py).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from smbaudit.compliance.model import ElementMatch, Passage, Period, PolicyElement, passage_hash
from smbaudit.compliance.reviews import Decision, Review

_WORD = re.compile(r"[a-z0-9$§]+(?:[-'’./][a-z0-9]+)*")

NEGATORS = {"not", "no", "never", "none", "nor", "neither", "cannot", "nobody", "nothing",
            "n't", "without", "lacks", "lack", "absent", "n/a"}
# Negation cues that do not deny the statement.
_NOT_NEGATION = [
    "no later than", "no more than", "no less than", "no fewer than", "not later than",
    "not more than", "not less than", "not only", "not limited to", "whether or not",
    "without undue delay", "without unreasonable delay", "without delay", "not to exceed",
    "no longer than", "no longer needed", "no longer necessary", "no longer required",
    "no longer in use", "no longer has", "no longer have", "no longer need", "not exceed",
    "no exception", "no exceptions", "if not", "or not", "not just", "no matter",
    "not be disclosed", "not be used", "cannot be read", "cannot be accessed", "not readable",
    "not accessible to unauthori", "no one other than", "nothing in this", "without activity",
    "without any activity", "without user activity", "without use", "without input",
    "without interaction", "when not in use", "while not in use", "not in use",
    # rights phrased as a freedom from something: "the right not to be subject to ..."
    "not be subject to", "not to be subject to", "not be discriminated", "not to be discriminated",
    "not receive discriminat", "not to receive discriminat",
    # a right's effect, not its denial: "withdraw consent, without affecting the lawfulness ..."
    "without affecting", "without prejudice",
]
# Quoted text (link labels, button names: "Do Not Sell or Share My Personal Information") names
# something; its words are not the author's statement, so negation inside quotes is ignored.
_QUOTED = re.compile(r"\"[^\"]{1,120}\"|“[^”]{1,120}”|'[^']{3,120}'(?!\w)")
# A negation followed in its clause by these words is a condition, not a denial:
# "no access is granted until approved", "no ePHI is sent without encryption".
_CONDITION_WORDS = {"until", "unless", "except", "other", "than", "without", "unauthorized",
                    "unauthorised", "anyone", "anybody"}
_PROHIBITION = re.compile(
    r"\b(must|shall|should|may|will|can|do|does|are|is)\s+(not|never)\b|\bnever\b|\bcannot\b|"
    r"\b(must|shall|should|may|will|do|does)n[o']?t\b|\b(prohibited|forbidden|not permitted|"
    r"not allowed)\b|^\W*no\b|[|;:]\s*no\b")
_CLAUSE_BREAK = re.compile(
    r"[;:]|,\s+(?:but|however|although|though|whereas|while|unless|except|so that|and)\b|"
    r"\b(?:but|however|although|though|whereas|except that|so that|in order to|which|"
    r"to ensure|to make sure|to prevent|to protect|to avoid|so)\b|\s[-–—]\s")

# Verbs that state a control in the present tense ("Managers recertify access", "IT revokes it").
_PRACTICE_VERBS = (
    "maintain", "perform", "conduct", "encrypt", "review", "recertif(y|ies)", "provision",
    "revoke", "disable", "approve", "authori[sz]e", "restrict", "limit", "monitor", "log",
    "audit", "assess", "evaluate", "test", "scan", "patch", "update", "install", "deploy",
    "enforce", "configure", "require", "retain", "delete", "erase", "destroy", "shred", "wipe",
    "sanitize", "dispose", "backs? up", "replicate", "restore", "notify", "report", "inform",
    "train", "verify", "honou?r", "respect", "process", "collect", "disclose", "share", "sell",
    "store", "protect", "secure", "document", "track", "investigate", "escalate", "contain",
    "mitigate", "remediate", "designate", "appoint", "assign", "grant", "remove", "terminate",
    "lock", "block", "filter", "isolate", "segment", "rotate", "expire", "issue", "escort",
    "sign", "obtain", "provide", "offer", "respond", "answer", "use", "keep", "apply", "run",
    "block", "forward", "receive", "transmit", "send", "answer", "follow", "comply",
)
OBLIGATION = {"must", "shall", "will", "should", "required", "requires", "require", "mandatory",
              "responsible", "ensure", "ensures", "obliged", "obligated", "expected",
              "always", "need", "needs", "has", "have", "are", "is", "be", "been", "get", "gets",
              "we", "our", "it", "they", "every", "each", "all"}
_PRACTICE = re.compile(
    r"\b(we|our \w+|the \w+|staff|employees|users|everyone|all \w+)\s+"
    r"(\w+ly\s+)?\w+(s|es|ed)?\b|\b(is|are|be|been|being|was|were|get|gets|remain|remains)\s+"
    r"(\w+ly\s+|not\s+|only\s+|also\s+)*\w+(ed|en|wn|pt|ld|lt|nt|ne|de|un|ot)\b|"
    r"\b(must|shall|will|should|need to|needs to|has to|have to|required to|responsible for|"
    r"ensures?|mandatory|at least|within|every|each|always)\b|"
    r"\b(you|consumers|customers|patients|clients|individuals|users|data subjects|residents)\s+"
    r"(can|may|have|has|are entitled|will|also have)\b|"
    r"^\W*(do not|don't|never|always|please|lock|use|report|keep|store|encrypt|protect|choose|"
    r"create|change|enable|install|review|back up|shred|wipe|log off|sign|verify|follow|complete|"
    r"notify|contact|delete|destroy|restrict|limit|apply|update|patch|disable|remove|return|"
    r"escort|record|document|retain|test|train|obtain|collect|dispose)\b|"
    r"\bmay (lead|result) (to|in)\b|\bmay be subject to\b|"
    # an instruction: "To exercise your rights, email us or call ..."
    r"^\W*to [\w ]{2,60},\s*(please\s+)?(email|e-mail|call|contact|write|visit|submit|use|go to|"
    r"click|send|complete|fill in|sign in|log in)\b|"
    r"\b(" + "|".join(_PRACTICE_VERBS) + r")(s|es)?\b")
_NOT_PRACTICE = re.compile(
    r"\b((?<!\bthis )(?<!\bthe )(?<!\ba )(?<!\bour )(?<!\beach )(?<!\bthat )plan(s|ned|ning)? to|"
    r"intends? to|intend(ed|ing) to|aim(s|ing)? to|hope(s)? to|would like to|aim(s|ing)? for|"
    r"strive(s)? for|will consider|may consider|should consider|considering|to be (determined|"
    r"defined|developed|decided|written|drafted|confirmed)|tbd|tba|not yet|in the future|"
    r"eventually|someday|next year|is optional|are optional|optionally|at (its|their|our) "
    r"discretion|is encouraged|are encouraged|encouraged to|is recommended|are recommended|"
    r"we recommend|it is recommended|recommended that|may choose|free to|placeholder|"
    r"lorem ipsum|draft only|under review|being evaluated|(is|are) being considered|"
    r"has been proposed|have been proposed|is proposed|are proposed)\b")
_META = re.compile(
    r"\b(this|the following|these|our) (policy|policies|document|section|chapter|procedure|plan|"
    r"handbook|manual|notice|training|program|programme|course|module|appendix)s? "
    r"(covers?|describes?|address(es)?|outlines?|discuss(es)?|explains?|summari[sz]es?|lists?|"
    r"contains?|includes?|introduces?|touches on|mentions?|is about|deals with|refers to)\b|"
    r"\btopics?\b|\bagenda\b|\bsyllabus\b|\bcurriculum\b|\bsuch as\b.*\bcovered\b|"
    r"^\W*(see|refer to|please refer to|for (more|further) (details|information)|details are)\b|"
    r"\bplease (review|see|read|visit|refer to|consult) (our|the)\b|"
    r"\b(is|are) (described|documented|covered|addressed|set out|detailed|defined|found|specified|"
    r"explained) in (the|our|a|an|section|appendix)\b|\bglossary\b|\bdefinitions?\b|"
    r"^\W*[\w\"“”' -]{1,40}\bmeans (?!of\b)")
_TOPIC_VERBS = re.compile(r"\b(include|includes|including|cover|covers|covering|address|"
                          r"addresses|discuss|discusses|such as|like|e\.g)\b")
_DEFINITION = re.compile(r"^[\"“']?[A-Z][\w /()-]{1,40}[\"”']?\s*(:(?!//)|–|—| - | means | refers to |"
                         r"is defined as )")
# "The legal grounds we rely on are: ..." introduces a list; it is not a label.
_LIST_LEAD = re.compile(r"^[^:]{1,60}\b(are|is|include|includes|as follows|following|these|below)"
                        r"\s*:", re.I)
# Template text left for the adopter to fill in: "[person responsible, including title] is ...".
_PLACEHOLDER = re.compile(r"^\W*\[[^\]]{3,}\]|\[(list|insert|add|name|set|specify|describe|"
                          r"enter|fill|replace|person|job title)\b[^\]]*\]", re.I)
_TABLE_NEGATIVE = re.compile(r"(^|[|;:]\s*)(no|none|n/a|na|not applicable|not implemented|"
                             r"not in place|tbd|planned|pending|missing|-|—|✗|x)\s*($|[|;])", re.I)


# Fixed terms whose words would otherwise match unrelated phrasings ("protected" -> protect*).
_COMPOUNDS = (("electronic protected health information", "ephi"),
              ("protected health information", "phi"), ("individually identifiable", "identifiable"))


_URL = re.compile(r"\b(?:https?://|www\.)\S+")


@dataclass(frozen=True)
class _Tokens:
    words: tuple[str, ...]

    @staticmethod
    @lru_cache(maxsize=65536)
    def of(text: str) -> _Tokens:
        text = _URL.sub(" ", text.lower().replace("’", "'"))  # a link's words are not a statement
        for compound, short in _COMPOUNDS:
            text = text.replace(compound, short)
        words: list[str] = []
        for w in _WORD.findall(text):
            w = w.rstrip(".")
            if w.endswith("n't"):
                words.extend([w[:-3] or w, "n't"])
            elif w.endswith("'s") and len(w) > 3:  # possessive: "the officer's address"
                words.append(w[:-2])
            else:
                words.append(w)
        return _Tokens(tuple(words))


@lru_cache(maxsize=8192)
def _term_words(term: str) -> tuple[str, ...]:
    return tuple(term.lower().split())


def _word_matches(pattern: str, token: str) -> bool:
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    if token == pattern:
        return True
    return (token == pattern + "s" or token == pattern + "es"
            or (pattern.endswith("y") and token == pattern[:-1] + "ies"))


@lru_cache(maxsize=65536)
def _word_set(words: tuple[str, ...]) -> frozenset[str]:
    return frozenset(words)


@lru_cache(maxsize=262144)
def _in_set(pattern: str, words: frozenset[str]) -> bool:
    if pattern.endswith("*"):
        stem = pattern[:-1]
        return any(w.startswith(stem) for w in words)
    return (pattern in words or pattern + "s" in words or pattern + "es" in words
            or (pattern.endswith("y") and pattern[:-1] + "ies" in words))


def _find_term(term: str, words: tuple[str, ...]) -> int | None:
    """Index of the first occurrence of the term (a phrase of word patterns) in the words."""
    pattern = _term_words(term)
    present = _word_set(words)
    if not all(_in_set(w, present) for w in pattern):
        return None
    n = len(pattern)
    first = pattern[0]
    for i in range(len(words) - n + 1):
        if _word_matches(first, words[i]) and all(
                _word_matches(pattern[k], words[i + k]) for k in range(1, n)):
            return i
    return None


def _word_regex(pattern: str) -> str:
    if pattern.endswith("*"):
        return re.escape(pattern[:-1]) + r"[^ ]*"
    plural = r"(?:s|es)?"
    if pattern.endswith("y"):
        return f"(?:{re.escape(pattern)}{plural}|{re.escape(pattern[:-1])}ies)"
    return re.escape(pattern) + plural


@lru_cache(maxsize=16384)
def _group_regex(group: tuple[str, ...]) -> re.Pattern[str]:
    """One regex for all phrasings of a group, over words joined by single spaces."""
    alts = [" ".join(_word_regex(w) for w in _term_words(t)) for t in group]
    return re.compile(r"(?<![^ ])(?:" + "|".join(alts) + r")(?![^ ])")


@lru_cache(maxsize=65536)
def _joined(words: tuple[str, ...]) -> str:
    return " ".join(words)


def _find_group(group: tuple[str, ...], words: tuple[str, ...]) -> tuple[int, int] | None:
    """(start, length in words) of the leftmost phrasing of the group found in the words."""
    text = _joined(words)
    m = _group_regex(group).search(text)
    if m is None:
        return None
    return text.count(" ", 0, m.start()), m.group(0).count(" ") + 1


# --------------------------------------------------------------------------- qualifiers


def _clauses(text: str) -> list[str]:
    return [c for c in _CLAUSE_BREAK.split(text) if c and c.strip()]


def negated(text: str, element: PolicyElement) -> str | None:
    """Why a matched statement is denied, or None. Looks clause by clause: the statement is
    denied when some phrasing group is matched only inside negated clauses."""
    lowered = _QUOTED.sub(" ", text.lower()).replace("’", "'")
    for phrase in _NOT_NEGATION:
        lowered = lowered.replace(phrase, " ")
    clean: set[int] = set()
    denied: dict[int, str] = {}
    for clause in _clauses(lowered):
        words = _Tokens.of(clause).words
        spans = {i: _find_group(g, words) for i, g in enumerate(element.groups)}
        groups = [i for i, span in spans.items() if span]
        if not groups:
            continue
        hits = [i for i, w in enumerate(words) if w in NEGATORS]
        # a phrasing that is itself negative ("if you do not provide it", "not obliged") states
        # the element: the negation in its clause belongs to it, not a denial
        spoken = {i for i in groups if any(w in NEGATORS for w in words[
            spans[i][0]:spans[i][0] + spans[i][1]])}  # type: ignore[index]
        is_denial = bool(hits)
        if hits and element.allow_prohibition and _PROHIBITION.search(clause):
            is_denial = False
        elif hits and words[hits[0]] != "without" and set(words[hits[0] + 1:]) & _CONDITION_WORDS:
            is_denial = False  # "no access is granted until ...", "never ... without approval"
        for i in groups:
            if is_denial and not spoken:
                denied.setdefault(i, clause.strip())
            else:
                clean.add(i)
    for i, clause in denied.items():
        if i not in clean:
            return f"negated: \"{clause}\""
    return None


# A clause stating a practice firmly, beside a "may" elsewhere in the sentence ("We respond
# within 30 days; complex requests may be extended").
_FIRM_CLAUSE = re.compile(r"(^|[;,.]\s*)we (?!may\b|might\b|could\b|can\b|would\b)\w+\b")


def is_statement(p: Passage) -> str | None:
    """None when the passage states an obligation or practice; else why it does not."""
    text = p.text.strip()
    lowered = text.lower()
    if p.block == "table_row":
        if p.lead_in == "header":
            return "table header row"
        if _TABLE_NEGATIVE.search(lowered):
            return "table row says no / not applicable / planned"
        return None
    if text.endswith("?"):
        return "a question, not a statement"
    if _PLACEHOLDER.search(text):
        return "a template placeholder, not a statement"
    scope = f"{p.lead_in} {text}" if p.block == "list_item" else text
    plan = _NOT_PRACTICE.search(scope.lower())
    if plan:
        return f"planned or optional, not a practice (\"{plan.group(0)}\")"
    if re.search(r"\bmay\b", lowered) and not re.search(
            r"\b(must|shall|will|required|only|may not|may only|(you|consumers|customers|"
            r"patients|individuals|users|data subjects|residents|they) may|may (lead|result) "
            r"(to|in)|may be subject to|may include)\b", lowered) and not _FIRM_CLAUSE.search(lowered):
        return "permissive (\"may\"), not an obligation"
    if _DEFINITION.match(text) and not _LIST_LEAD.match(text) and not re.search(
            r"\b(must|shall|will|required)\b", lowered):
        return "a definition or label, not a statement of practice"
    if not _PRACTICE.search(scope.lower()):
        return "no statement of obligation or practice"
    return None


def passing_mention(p: Passage, element: PolicyElement) -> str | None:
    """Why a match is only a mention in passing, or None."""
    lowered = p.text.lower()
    if p.block == "list_item":
        lead = p.lead_in.lower()
        if lead and _META.search(lead):
            return f"listed as a topic under \"{p.lead_in}\""
        if not lead and len(_Tokens.of(p.text).words) <= 4 and not _PRACTICE.search(lowered):
            return "a bare list entry without a statement"
    meta = _META.search(lowered)
    if meta and not re.search(r"\b(must|shall|required|is responsible|are responsible)\b", lowered):
        return f"mentioned in passing (\"{meta.group(0)}\")"
    topic = _TOPIC_VERBS.search(lowered)
    if topic and _in_enumeration(p.text, element) and not _PRACTICE.search(lowered[:topic.start()]):
        return "one of a list of topics"
    if topic and _only_in_examples(lowered, topic.start(), element):
        return "named only as one example in a list"
    return None


def _only_in_examples(lowered: str, start: int, element: PolicyElement) -> bool:
    """A group matched only inside an enumeration after "including / such as" (3+ items)."""
    tail = re.split(r"[;:]|\bto (?:prevent|protect|ensure)\b|\b(?:is|are|was|were|will|must|shall)\b",
                    lowered[start:], maxsplit=1)[0]
    head = lowered[:start]
    items = [i for i in re.split(r",|\band\b|\bor\b", tail) if i.strip()]
    if len(items) < 3 or sum(1 for i in items if len(i.split()) <= 4) < 3:
        return False
    for group in element.groups:
        in_tail = _find_group(group, _Tokens.of(tail).words) is not None
        in_rest = _find_group(group, _Tokens.of(head + " " + lowered[start + len(tail):]).words)
        if in_tail and in_rest is None:
            return True
    return False


def _in_enumeration(text: str, element: PolicyElement) -> bool:
    """True when the matched terms sit in a comma list of three or more short items."""
    items = [i.strip() for i in re.split(r",|\band\b|\bor\b", text) if i.strip()]
    short = [i for i in items if len(i.split()) <= 4]
    if len(short) < 3:
        return False
    hits = sum(1 for i in short if any(_find_group(g, _Tokens.of(i).words) for g in element.groups))
    return hits >= 1 and len(short) >= len(items) - 1


# --------------------------------------------------------------------------- decisions


def candidate(element: PolicyElement, p: Passage, previous: str = "") -> int:
    """How many groups the passage matches by itself (0 = not a candidate)."""
    scope = f"{p.lead_in} {p.text}" if p.block == "list_item" else p.text
    words = _Tokens.of(scope).words
    own: list[bool] = []
    spans: list[tuple[int, int]] = []
    misses = 0
    for g in element.groups:  # stop at the second miss: at most one group may come from context
        span = _find_group(g, words)
        hit = span is not None
        if span is not None and any(_overlap(span, other) for other in spans):
            hit = _distinct([x for x, h in zip(element.groups, own) if h] + [g], words)
        if span is not None and hit:
            spans.append(span)
        own.append(hit)
        misses += not hit
        if misses > 1 or (misses and (len(element.groups) == 1 or element.in_passage)):
            return 0
    n_own = sum(own)
    if n_own == len(own):
        return n_own
    context = _Tokens.of(" ".join((*p.headings, previous))).words
    missing = [g for g, hit in zip(element.groups, own) if not hit]
    if all(_in_context(g, context) for g in missing):
        return n_own
    return 0


def _in_context(group: tuple[str, ...], words: tuple[str, ...]) -> bool:
    """A group matched by a heading or the previous sentence. A document's kind ("... Policy",
    "Security Procedure") is not a part of a duty; the notice naming itself ("Changes to this
    Privacy Notice") is, for the elements about the notice."""
    return any(words[i + n - 1] not in _DOC_KINDS or (n > 1 and words[i] in _SELF)
               for i, n in _all_spans(group, words))


_SELF = frozenset({"privacy", "this", "cookie", "cookies"})
_DOC_KINDS = frozenset({"policy", "policies", "procedure", "procedures", "standard", "standards",
                        "notice", "notices", "statement", "document", "manual", "handbook"})


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[0] + b[1] and b[0] < a[0] + a[1]


def _all_spans(group: tuple[str, ...], words: tuple[str, ...]) -> list[tuple[int, int]]:
    text = _joined(words)
    return [(text.count(" ", 0, m.start()), m.group(0).count(" ") + 1)
            for m in _group_regex(group).finditer(text)]


def _distinct(groups: list[tuple[str, ...]], words: tuple[str, ...]) -> bool:
    """Whether every group can be matched by its own words: one word does not state two parts
    of an element ("contact details" is not both "contact us" and an address)."""
    options = [_all_spans(g, words) for g in groups]

    def place(i: int, taken: list[tuple[int, int]]) -> bool:
        if i == len(options):
            return True
        return any(place(i + 1, [*taken, s]) for s in options[i]
                   if not any(_overlap(s, t) for t in taken))
    return place(0, [])


_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fifteen": 15, "thirty": 30,
                 "forty-five": 45, "sixty": 60, "ninety": 90, "seventy-two": 72,
                 "twenty-four": 24, "a": 1, "an": 1}
_PERIOD = re.compile(
    r"\b(\d+(?:\.\d+)?|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) +
    r")(?:\s*\(\d+\))?[\s-]+(business|working|calendar)?\s*(hour|day|week|month|year)s?\b")
_UNIT = {"hour": "hours", "day": "days", "week": "days", "month": "months", "year": "years"}


def periods(text: str) -> list[Period]:
    """Time periods stated in a text ("72 hours", "sixty (60) days", "15 business days")."""
    out: list[Period] = []
    for m in _PERIOD.finditer(text.lower()):
        raw = m.group(1)
        value = float(_NUMBER_WORDS[raw]) if raw in _NUMBER_WORDS else float(raw)
        unit = m.group(3)
        if unit == "week":
            value *= 7
        name = "business days" if unit == "day" and m.group(2) in ("business", "working") \
            else _UNIT[unit]
        out.append(Period(value, name))
    return out


def out_of_bounds(element: PolicyElement, text: str) -> str | None:
    """Why the periods a passage states break the rule's limit (60 days is not 72 hours).

    Only the periods stated in clauses about the duty count ("we notify the authority within
    60 days; the 72-hour target is internal" breaks a 72-hour rule)."""
    if not (element.max_number or element.min_number) or not periods(text):
        return None
    duty = [g for g in element.groups if not all(periods(t) for t in g)]
    clauses = [c for c in _clauses(text.lower()) if periods(c)]
    about = [c for c in clauses if any(_find_group(g, _Tokens.of(c).words) for g in duty)]
    found = [p for c in (about or clauses) for p in periods(c)]
    if element.max_number and min(p.hours for p in found) > element.max_number.hours + 1e-6:
        shortest = min(found, key=lambda p: p.hours)
        return f"states {shortest}, longer than the rule's {element.max_number}"
    if element.min_number and max(p.hours for p in found) < element.min_number.hours - 1e-6:
        longest = max(found, key=lambda p: p.hours)
        return f"states {longest}, shorter than the rule's {element.min_number}"
    return None


def look_alike(element: PolicyElement, p: Passage) -> str | None:
    """Why the passage states a neighbouring duty (another role, right, party or regime)."""
    if element.exclude:
        scope = f"{p.lead_in} {p.text}" if p.block == "list_item" else p.text
        hit = _find_group(element.exclude, _Tokens.of(_QUOTED.sub(" ", scope)).words)
        if hit is not None:
            words = _Tokens.of(_QUOTED.sub(" ", scope)).words
            return f"look-alike: about \"{' '.join(words[hit[0]:hit[0] + hit[1]])}\", not this duty"
    for heading in p.headings:
        if element.exclude_headings and _find_group(element.exclude_headings,
                                                    _Tokens.of(heading).words):
            return f"look-alike: under the heading \"{heading}\" (another regime or party)"
    return other_regime(element, p) or other_party(p)


@lru_cache(maxsize=64)
def _scoped(terms: tuple[str, ...]) -> tuple[str, ...]:
    """A regime named as the scope of a sentence ("under the CCPA", "California residents"),
    not in passing ("security and HIPAA training")."""
    out: list[str] = []
    for t in terms:
        out += [f"under {t}", f"under the {t}", f"pursuant to {t}", f"pursuant to the {t}",
                f"required by {t}", f"required by the {t}", f"if you are a {t}",
                f"if you are an {t}", f"if you live in {t}", f"resident* of {t}", f"{t} resident*",
                f"{t} consumer*", f"{t} user*", f"{t} individual*", f"{t} law*", f"{t} act"]
    return tuple(out)


# A duty the document places on its customers ("Customers are responsible for notifying their
# supervisory authority", "Clients should carry out a DPIA") is theirs, not the author's practice.
_OTHER_PARTY = re.compile(
    r"^\W*(?:(?:our|the|each|all|every)\s+)?(?:customers?|clients?|end[- ]users?|controllers?|"
    r"data controllers?|platform customers?|account (?:owners?|holders?))\s+(?:(?:are|is)\s+"
    r"(?:solely\s+|also\s+|ultimately\s+)?responsible for|should|remain responsible for|"
    r"must ensure|shall ensure|are required to ensure)\b", re.I)


def other_party(p: Passage) -> str | None:
    """Why the passage states a duty of the document's customers rather than its author's."""
    m = _OTHER_PARTY.search(p.text)
    return f"another party's duty: \"{m.group(0).strip()}\"" if m else None


def other_regime(element: PolicyElement, p: Passage) -> str | None:
    """Why the passage states another law's duty: its sentence is scoped to another regime
    ("Under the CCPA, ..."), or its nearest heading naming a regime names another one and not
    the element's own ("## California residents")."""
    if not element.other_regimes:
        return None
    own, other = element.own_regime, element.other_regimes
    scope = _QUOTED.sub(" ", f"{p.lead_in} {p.text}" if p.block == "list_item" else p.text)
    levels = ((scope, "the passage", _scoped(other)),
              *((h, f"the heading \"{h}\"", other) for h in reversed(p.headings)))
    for text, where, terms in levels:
        words = _Tokens.of(text).words
        if own and _find_group(own, words):
            return None  # names this regime (perhaps beside another): it applies
        named = _find_group(terms, words)
        if named:
            word = " ".join(words[named[0]:named[0] + named[1]])
            return f"another regime: {where} is about \"{word}\""
    return None


def parts_held(element: PolicyElement, p: Passage, previous: str = "") -> set[int]:
    """Which of the element's required parts the passage states, with its list lead-in,
    headings and previous sentence ("## Backups and restore" + "Backups run nightly.")."""
    if not element.parts:
        return set()
    words = _Tokens.of(" ".join((p.lead_in, p.text, *p.headings, previous))).words
    return {k for k, part in enumerate(element.parts) if _find_group(part.terms, words)}


REVIEW_BELOW = 0.6  # a "covered" decision less sure than this needs an auditor's review
# "... in accordance with the Security Incident Management Policy": the practice lives elsewhere
_REFERENCE = re.compile(
    r"\b(in accordance with|according to|pursuant to|as required by|as (?:defined|described|"
    r"set out|specified|outlined) in|(?:defined|described|set out|specified|outlined) in) "
    r"(?:the|our|its|their|this|"
    r"a|an)\b[^.;]{0,80}?\b(policy|policies|procedure|procedures|plan|standard|handbook|manual|"
    r"guide)\b", re.I)
_STRONG = re.compile(
    r"\b(must|shall|will|required to|is required|are required|responsible for|ensures?|"
    r"we(?: \w+ly)? (?!may\b|might\b|could\b)\w+|you (can|may|have|will)|right to|rights? of|"
    r"has the right|have the right|at least|within|every|each|always)\b")


def confidence(element: PolicyElement, p: Passage, score: int) -> tuple[float, tuple[str, ...]]:
    """How sure a "covered" decision is (0-1), and on what it rests, in words."""
    basis: list[str] = []
    value = 0.45
    if score == len(element.groups):
        value += 0.25
        basis.append("the passage itself holds every part of the element")
    else:
        basis.append("one part of the element comes only from the heading or previous sentence")
    scope = f"{p.lead_in} {p.text}" if p.block == "list_item" else p.text
    if p.block == "table_row" or element.presence_only or _STRONG.search(scope.lower()):
        value += 0.15
        basis.append("a statement of obligation, practice or right")
    else:
        basis.append("a weak statement (no obligation, first-person practice or right)")
    if _REFERENCE.search(scope):
        value -= 0.3
        basis.append("refers to another document for the practice")
    heading_words = _Tokens.of(" ".join(p.headings)).words
    if p.headings and any(_find_group(g, heading_words) for g in element.groups):
        value += 0.15
        basis.append(f"under a heading on the same subject (\"{p.headings[-1]}\")")
    return min(1.0, round(value, 2)), tuple(basis)


class PassageIndex:
    """Which passages hold which words, so that an element is only tried on passages that can
    match it (a passage must hold one of its first two phrasing groups itself)."""

    def __init__(self, items: list[Passage]):
        self.items = items
        where: dict[str, set[int]] = {}
        for i, p in enumerate(items):
            scope = f"{p.lead_in} {p.text}" if p.block == "list_item" else p.text
            for w in set(_Tokens.of(scope).words):
                where.setdefault(w, set()).add(i)
        self._where = where
        self._vocabulary = sorted(where)

    def _with_word(self, pattern: str) -> set[int]:
        if pattern.endswith("*"):
            stem = pattern[:-1]
            lo = bisect.bisect_left(self._vocabulary, stem)
            out: set[int] = set()
            for w in self._vocabulary[lo:]:
                if not w.startswith(stem):
                    break
                out |= self._where[w]
            return out
        forms = {pattern, pattern + "s", pattern + "es"}
        if pattern.endswith("y"):
            forms.add(pattern[:-1] + "ies")
        return set().union(*(self._where.get(f, set()) for f in forms))

    def _with_group(self, group: tuple[str, ...]) -> set[int]:
        return set().union(*(self._with_word(_term_words(t)[0]) for t in group))

    def candidates(self, element: PolicyElement) -> list[int]:
        """Passage positions, in document order, that hold its first or second group."""
        found = self._with_group(element.groups[0])
        if len(element.groups) > 1:
            found |= self._with_group(element.groups[1])
        return sorted(found)


def decide(element: PolicyElement, items: list[Passage],
           reviews: Mapping[str, Review] | None = None,
           index: PassageIndex | None = None) -> ElementMatch:
    """The decision for one element over all passages, with up to three rejected candidates.

    `reviews` (passage hash -> auditor review for this element) confirms or rejects passages:
    a confirmed one counts with full confidence, a rejected one never counts.
    """
    rejected: list[tuple[Passage, str]] = []
    best: tuple[int, float, int, Passage, tuple[str, ...], str] | None = None
    parts_found: set[int] = set()
    reviews = reviews or {}
    index = index if index is not None and index.items is items else PassageIndex(items)
    for i in index.candidates(element):
        p = items[i]
        before = items[i - 1] if i else None
        previous = before.text if before is not None and (before.file, before.location) == (
            p.file, p.location) else ""
        score = candidate(element, p, previous)
        if not score:
            continue
        scope = f"{p.lead_in}: {p.text}" if p.block == "list_item" and p.lead_in else p.text
        review = reviews.get(passage_hash(p.text))
        if review is not None and review.decision is Decision.REJECTED:
            if len(rejected) < 3:
                rejected.append((p, f"rejected by an auditor: {review.note}"))
            continue
        quoted = Passage(p.file, p.location, scope, p.block, p.headings)
        if review is not None:
            best = (len(element.parts), 1.0, score, quoted, ("confirmed by an auditor",),
                    review.note)
            parts_found = set(range(len(element.parts)))  # the auditor read it whole
            break
        why = look_alike(element, p) or out_of_bounds(element, p.text) or passing_mention(
            p, element) or (None if element.presence_only else is_statement(p)) or negated(
            p.text, element)
        if why is None and p.block == "list_item" and p.lead_in:
            lead_neg = negated(p.lead_in, element)
            why = lead_neg if lead_neg and "n't" not in lead_neg else None
        if why:
            if len(rejected) < 3:
                rejected.append((p, why))
            continue
        conf, basis = confidence(element, p, score)
        held = parts_held(element, p, previous)
        if conf >= REVIEW_BELOW:  # only passages that count can complete the element
            parts_found |= held
        if best is None or (len(held), conf, score) > best[:3]:
            best = (len(held), conf, score, quoted, basis, "")
        if conf >= 1.0 and len(parts_found) == len(element.parts):
            break
    if best:
        _, conf, _, passage, basis, note = best
        missing = tuple(part.label for k, part in enumerate(element.parts)
                        if k not in parts_found)
        if missing and not note:
            basis = (*basis, "partly stated: no counted passage states " + ", ".join(missing))
        return ElementMatch(element, True, passage, tuple(rejected), confidence=conf,
                            needs_review=conf < REVIEW_BELOW and not note, reviewed=note,
                            basis=basis, missing_parts=() if note else missing)
    return ElementMatch(element, False, None, tuple(rejected),
                        confidence=0.75 if rejected else 0.9,
                        basis=("candidate passages were found but none counts",) if rejected
                        else ("no passage names the element",))
