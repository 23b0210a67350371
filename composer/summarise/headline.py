"""A headline from an article's lead sentence, in news style: who does what, in the present tense.

"The US tech giant, Google, has announced a €5 billion investment in Belgium to strengthen its AI
and cloud infrastructure over the next two years." becomes "Google announces €5 billion investment
in Belgium": the descriptive lead-in and the trailing clauses go, "has announced" becomes
"announces", articles after the verb go, and the result is cut only at a phrase boundary.
"""

from __future__ import annotations

import re

from composer.language import SENTENCE_END

MAX_HEADLINE = 90
_MIN_HEADLINE = 25
_GOOD_HEADLINE = 45
_MIN_CLAUSE = 20

_AUXILIARY = re.compile(r"\b(has|have|had|is|are|was|were|will)\b\s+(been\s+)?")
_PARENTHESES = re.compile(r"\s*\([^)]*\)|\s*\[[^\]]*\]")
_VERB_AHEAD = r"(?=(?:has|have|is|are|was|were|will|[a-z]+ed|[a-z]+s)\b)"
# "The US tech giant, Google, has …" -> "Google has …"
_DESCRIBED_NAME = re.compile(r"^(?:The|A|An)(?:\s[^,\s]+){1,5},\s([A-Z][^,]{1,40}),\s" + _VERB_AHEAD)
# "Thales, one of Europe's largest satellite makers, has …" -> "Thales has …"
_NAME_APPOSITIVE = re.compile(r"^([A-Z][^,\s]*(?:\s[A-Z][^,\s]*){0,4}),\s[^,]{3,90},\s" + _VERB_AHEAD)
# ", held in Norway," and the like describe the subject, not the news.
_PARTICIPLE_APPOSITIVE = re.compile(r",\s(?:held|based|led|founded|known|located|headquartered|chaired)\s[^,]{1,60},")
# "On 29 July 2025, …", "As the AI race intensifies in China, …", "In his blog post ‘…,’ …"
_LEADING_PHRASE = re.compile(r"^(?:On|At|In|As|During|After|Following|Amid|With|Despite|Earlier|Last|This)\b[^,]{2,120},[’”'\"]?\s")
_PREPOSITIONS = {"against", "of", "in", "at", "for", "from", "with", "by", "on", "to", "over", "about", "into"}
_NAME_CONNECTORS = {"of", "for", "and", "de"}
_PHRASES = ((" in connection with ", " over "), (" in order to ", " to "), (" a number of ", " several "))
# Clause starts that end a headline's useful part.
_CLAUSE_CUT = re.compile(
    r",\s|;\s|\s[–—]\s|:\s|\s(?:which|who|amid|after|following|according to|as part of|over the next|"
    r"in a move|while|despite|because|citing|saying|as|within the coming|in the coming|over the coming|"
    r"later this|earlier this|by the end of)\s"
)
_PHRASE_CUT = re.compile(
    r"\s(?=(?:to|in|for|across|through|with|within|from|by|on|at|into|under|against|over|of|after|as)\s)"
)
_DANGLING = re.compile(r"\s+(?:a|an|the|of|and|or|to|in|for|with|by|on|at|its|their|his|her|as|titled|called|named)$", re.I)
# A past participle is the verb when what follows it is an object or a complement, not a noun it describes.
_VERB_FOLLOWERS = {"a", "an", "the", "to", "its", "their", "his", "her", "that", "on", "in", "at", "for", "with",
                   "new", "plans", "up", "out", "into", "from", "over"}

_IRREGULAR = {
    "made": "makes", "won": "wins", "taken": "takes", "given": "gives", "begun": "begins", "set": "sets",
    "put": "puts", "cut": "cuts", "led": "leads", "brought": "brings", "bought": "buys", "sold": "sells",
    "told": "tells", "said": "says", "found": "finds", "held": "holds", "built": "builds", "sent": "sends",
    "spent": "spends", "paid": "pays", "left": "leaves", "become": "becomes", "seen": "sees", "grown": "grows",
    "shown": "shows", "known": "knows", "written": "writes", "drawn": "draws", "risen": "rises",
    "fallen": "falls", "struck": "strikes", "chosen": "chooses", "run": "runs", "come": "comes", "gone": "goes",
    "done": "does", "had": "has", "got": "gets", "kept": "keeps", "lost": "loses", "met": "meets",
    "hit": "hits", "broken": "breaks", "spoken": "speaks", "stolen": "steals", "driven": "drives",
    "thrown": "throws", "created": "creates", "developed": "develops", "targeted": "targets",
    "invited": "invites", "united": "unites", "cited": "cites", "monitored": "monitors",
    "seeing": "sees", "being": "is", "having": "has",
}


def headline(lead_sentence: str) -> str:
    """A headline of at most 90 characters made from `lead_sentence`."""
    text = _PARENTHESES.sub("", lead_sentence).strip().rstrip(SENTENCE_END)
    for long, short in _PHRASES:
        text = text.replace(long, short)
    remainder = _LEADING_PHRASE.sub("", text, count=1)
    if len(remainder) >= _MIN_HEADLINE:
        text = remainder[:1].upper() + remainder[1:]
    text = _PARTICIPLE_APPOSITIVE.sub("", text, count=1)
    text = _DESCRIBED_NAME.sub(r"\1 ", text)
    text = _NAME_APPOSITIVE.sub(r"\1 ", text)
    text = _present_tense(text)
    text = _shorten(text)
    text = re.sub(r"^(?:The|A|An)\s+(?=\S)", "", text)
    return text[:1].upper() + text[1:]


def _present_tense(text: str) -> str:
    """'X has announced a plan' -> 'X announces plan'; 'X have been exposed' -> 'X exposed'."""
    match = _AUXILIARY.search(text)
    if not match or match.start() == 0:
        return _simple_past_to_present(text)
    subject = _proper_subject(text[: match.start()].strip())
    rest = text[match.end() :]
    auxiliary, passive = match[1], bool(match[2])
    verb, _, tail = rest.partition(" ")
    if auxiliary in ("is", "are") and not passive and verb.endswith("ing"):
        return f"{subject} {_agree(subject, _third_person(verb))} {tail}".strip()  # 'is preparing' -> 'prepares'
    if passive or auxiliary in ("is", "are", "was", "were", "will") or not verb.islower():
        return f"{subject} {rest}" if passive else f"{subject} {text[match.start():]}"
    tail = re.sub(r"^(?:a|an|the)\s+", "", tail)
    return f"{subject} {_agree(subject, _third_person(verb))} {tail}".strip()


def _agree(subject: str, verb: str) -> str:
    """The verb in the plural form after a plural subject: 'leaders gathers' -> 'leaders gather'."""
    words = subject.split()
    last = words[-1] if words else ""
    if any(word.lower() in _PREPOSITIONS for word in words):
        return verb  # 'a breach at one of the vendors': the head noun is not the last word
    if not (last.islower() and last.endswith("s") and not last.endswith(("ss", "us", "is"))):
        return verb
    if verb.endswith("ies"):
        return verb[:-3] + "y"
    if verb.endswith(("shes", "ches", "sses", "xes", "zzes")):
        return verb[:-2]
    return verb[:-1] if verb.endswith("s") else verb


def _simple_past_to_present(text: str) -> str:
    """'The UN Council adopted a resolution' -> 'The UN Council adopts resolution' (verb within 8 words)."""
    words = text.split(" ")
    for index, word in enumerate(words[1:9], 1):
        following = words[index + 1].lower() if index + 1 < len(words) else ""
        if (word.islower() and word.endswith("ed") and words[index - 1].lower() not in _PREPOSITIONS
                and following in _VERB_FOLLOWERS):
            subject = _proper_subject(" ".join(words[:index]))
            tail = re.sub(r"^(?:a|an|the)\s+", "", " ".join(words[index + 1 :]))
            return f"{subject} {_agree(subject, _third_person(word))} {tail}".strip()
    return text


def _proper_subject(subject: str) -> str:
    """'The US startup OpenAI' -> 'OpenAI', 'Chinese social media giant TikTok' -> 'TikTok'.

    A descriptive lead-in before a name goes; 'The case against Google' keeps its words.
    """
    words = subject.split()
    if len(words) < 3:
        return subject
    name: list[str] = []
    for word in reversed(words):
        if word[:1].isupper() or (name and word in _NAME_CONNECTORS):
            name.insert(0, word)
        else:
            break
    while name and name[0] in _NAME_CONNECTORS:
        name.pop(0)
    lead_in = words[: len(words) - len(name)]
    if not name or not lead_in or lead_in[-1].lower() in _PREPOSITIONS or lead_in == ["The"]:
        return subject
    return " ".join(name)


def _third_person(participle: str) -> str:
    """'announced' -> 'announces', 'launched' -> 'launches', 'committed' -> 'commits'."""
    word = participle.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3] + "ed"  # the stem rules below are the same for 'preparing' and 'prepared'
    if not word.endswith("ed") or len(word) < 4:
        return participle
    if word.endswith("ied"):
        return word[:-3] + "ies"
    if word.endswith("eed"):
        return word[:-1] + "s"
    stem = word[:-2]
    if len(stem) > 2 and stem[-1] == stem[-2] and stem[-1] not in "lsfz":
        return stem[:-1] + "s"
    if stem.endswith(("sh", "ch", "ss", "x", "zz")):
        return stem + "es"
    if stem.endswith(("en", "er", "it", "on", "ow", "ay", "ey", "oy")):
        return stem + "s"
    vowels = "aeiou"
    silent_e = (
        stem[-1] in "cgsvzu"
        or (len(stem) > 2 and stem[-1] in "dklmnprt" and stem[-2] in vowels and stem[-3] not in vowels)
    )
    return stem + ("es" if silent_e else "s")


def _shorten(text: str) -> str:
    """Cut at the first clause boundary after a usable length, then at phrase boundaries to fit."""
    for match in _CLAUSE_CUT.finditer(text):
        if match.start() >= _MIN_CLAUSE:
            text = text[: match.start()]
            break
    if len(text) > MAX_HEADLINE:
        cuts = [m.start() for m in _PHRASE_CUT.finditer(text) if _MIN_HEADLINE <= m.start() <= MAX_HEADLINE]
        # A phrase boundary keeps the headline whole; a word boundary is the fallback for long phrases.
        text = text[: cuts[-1]] if cuts and cuts[-1] >= _GOOD_HEADLINE else text[: MAX_HEADLINE + 1].rsplit(" ", 1)[0]
    opening = max(text.rfind("‘"), text.rfind("“"))
    if opening > _MIN_HEADLINE and text.rfind("’") < opening and text.rfind("”") < opening:
        text = text[:opening].rstrip()  # never end inside a quotation
    previous = None
    while previous != text:
        previous, text = text, _DANGLING.sub("", text).rstrip(",;:")
    return text
