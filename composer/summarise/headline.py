"""A headline from an article's lead sentence, in news style: who does what, in the present tense.

"The US tech giant, Google, has announced a €5 billion investment in Belgium to strengthen its AI
and cloud infrastructure over the next two years." becomes "Google announces €5 billion investment
in Belgium": the descriptive lead-in and the trailing clauses go, "has announced" becomes
"announces", articles after the verb go, and the result is cut only at a phrase boundary.
"""

from __future__ import annotations

import re

from composer.language import SENTENCE_END, STOPWORDS
from composer.summarise.lexicon import lemmas
from composer.summarise.names import PLACE_WORDS

MAX_HEADLINE = 90
_MIN_HEADLINE = 25
_GOOD_HEADLINE = 45
_MIN_CLAUSE = 40
_MIN_HEADLINE_CORE = 20
_DESCRIBING = re.compile(r",\s(?:the|a|an|which|who|whose)\s")

_AUXILIARY = re.compile(r"\b(has|have|had|is|are|was|were|will)\b\s+(been\s+)?")
_PARENTHESES = re.compile(r"\s*\([^)]*\)|\s*\[[^\]]*\]")
_VERB_AHEAD = r"(?=(?:has|have|is|are|was|were|will|[a-z]+ed|[a-z]+s)\b)"
# "The US tech giant, Google, has …" -> "Google has …"
_DESCRIBED_NAME = re.compile(r"^(?:The|A|An)(?:\s[^,\s]+){1,5},\s([A-Z][^,]{1,40}),\s" + _VERB_AHEAD)
# "Thales, one of Europe's largest satellite makers, has …" -> "Thales has …"
_NAME_APPOSITIVE = re.compile(r"^([A-Z][^,\s]*(?:\s[A-Z][^,\s]*){0,4}),\s[^,]{3,90},\s" + _VERB_AHEAD)
# ", held in Norway," and the like describe the subject, not the news.
# "Angie’s List, which offers … doctors, contractors … on the Web, has just set …": the clause says what
# the subject is; it ends at the comma before the verb.
_RELATIVE_CLAUSE = re.compile(r"^([A-Z][^,]{0,40}),\s(?:which|who)\s.{3,150}?,\s(?=(?:has|have|had|is|are|was|were|will|"
                              r"[a-z]+ed)\b)")
_PARTICIPLE_APPOSITIVE = re.compile(r",\s(?:held|based|led|founded|known|located|headquartered|chaired)\s[^,]{1,60},")
# "On 29 July 2025, …", "As the AI race intensifies in China, …", "In his blog post ‘…,’ …"
# A lead-in that frames the news and is no part of it: "On 29 July 2025, …", "As the AI race intensifies
# in China, …", "Last week, …". One that names something ("With BBM Music, RIM …", "Last month on the GCP
# blog, …") stays: the held-out titles keep those words.
_LEADING_PHRASE = re.compile(r"^(?:(?:On|At|In|As|During|After|Following|Amid|Despite|Earlier|According to)\b"
                             r"[^,]{2,45}|(?:Last|This|Earlier this|Later this) (?:week|month|year|weekend)),"
                             r"[’”'\"]?\s")
_PREPOSITIONS = {"against", "of", "in", "at", "for", "from", "with", "by", "on", "to", "over", "about", "into"}
_NAME_CONNECTORS = {"of", "for", "and", "de"}
_NAMING_LEAD_IN = 2  # words before a name that say whose they are ("Slack insider")
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

def headline(lead_sentence: str) -> str:
    """A headline of at most 90 characters made from `lead_sentence`: the first sound one of the cuts
    tried (the first clause boundary, then later ones), else the first."""
    # An aside in brackets goes, unless it is all there is ("[Cross-posting from last year's AMA …]").
    text = (_PARENTHESES.sub("", lead_sentence).strip() or lead_sentence.strip(" ()[]")).rstrip(SENTENCE_END)
    text = re.sub(r"(?<=\w)([—–])(?=\w)", r" \1 ", text)  # "was revealed—a flaw": a clause boundary
    for long, short in _PHRASES:
        text = text.replace(long, short)
    remainder = _LEADING_PHRASE.sub("", text, count=1)
    if len(remainder) >= _MIN_HEADLINE:
        text = remainder[:1].upper() + remainder[1:]
    bases = [text]
    framing, _, rest = text.partition(", ")
    if framing.split(" ", 1)[0] in _FRAMING and len(framing) <= 90 and len(rest) >= _MIN_HEADLINE:
        bases.append(rest[:1].upper() + rest[1:])  # a longer framing lead-in ("In the run up to the IPO …, ")
    tried = []
    for base in bases:
        base = _RELATIVE_CLAUSE.sub(r"\1 ", base, count=1)
        base = _present_tense(_NAME_APPOSITIVE.sub(r"\1 ", _DESCRIBED_NAME.sub(r"\1 ", _PARTICIPLE_APPOSITIVE.sub(
            "", base, count=1))))
        for skip in range(_CUTS_TRIED):
            cut = re.sub(r"^(?:The|A|An)\s+(?=\S)", "", _shorten(base, skip))
            cut = _agreeing(_capitalised(cut))
            if not defects(cut):
                return cut
            tried.append(cut)
    return tried[0]


def _capitalised(text: str) -> str:
    """The first letter in capitals, unless the first word is a name written otherwise ("iPhone", "eBay")."""
    first = text.split(" ", 1)[0]
    return text if any(ch.isupper() for ch in first[1:]) else text[:1].upper() + text[1:]


_CUTS_TRIED = 4
_FRAMING = frozenset({"In", "On", "At", "As", "During", "After", "Following", "Amid", "Despite", "Ahead"})


def _present_tense(text: str) -> str:
    """'X has announced a plan' -> 'X announces plan'; 'X have been exposed' -> 'X exposed'."""
    match = _AUXILIARY.search(text)
    if not match or match.start() == 0:
        return _simple_past_to_present(text)
    named = subject = _proper_subject(text[: match.start()].strip())
    rest = text[match.end() :]
    auxiliary, passive = match[1], bool(match[2])
    verb, _, tail = rest.partition(" ")
    if auxiliary in ("has", "have") and not passive and not _perfect(verb, tail):
        return f"{named} {text[match.start():]}"  # 'Rene Ritchie has a look', 'We have some news': the verb
    if _adverb(verb) and tail:
        adverb, (verb, _, tail) = verb, tail.partition(" ")  # 'has globally banned' -> 'globally bans'
        subject = f"{named} {adverb}"
    if auxiliary in ("is", "are") and not passive and verb.endswith("ing"):
        return f"{subject} {_agree(subject, _third_person(verb))} {tail}".strip()  # 'is preparing' -> 'prepares'
    if auxiliary in ("was", "were") and verb.islower() and verb.endswith("ed"):
        return f"{named} {rest}"  # 'security issue was revealed' -> 'security issue revealed'
    if passive or auxiliary not in ("has", "have", "had") or not verb.islower():
        return f"{named} {rest}" if passive else f"{named} {text[match.start():]}"  # 'will only be'
    tail = re.sub(r"^(?:a|an|the)\s+", "", tail)
    return f"{subject} {_agree(subject, _third_person(verb, participle=True))} {tail}".strip()


def _perfect(verb: str, tail: str) -> bool:
    """'has announced', 'has globally banned', 'have begun': a past participle follows (perhaps after an
    adverb); not 'has a look', 'have some news'."""
    if _adverb(verb) and tail:
        verb = tail.split(" ", 1)[0]
    lemmas = _lemmas(verb.lower()).get("VERB", ())
    return verb.islower() and (verb.endswith("ed") or any(verb in _all_forms(lemma, "VBN") for lemma in lemmas))


def _adverb(word: str) -> bool:
    """'globally', 'just', 'already': an adverb that may stand between an auxiliary and its verb."""
    found = _lemmas(word)
    return word.islower() and (word.endswith("ly") or ("ADV" in found and "VERB" not in found))


def _agree(subject: str, verb: str) -> str:
    """The verb in the plural form after a plural subject: 'Deepfake videos of X spreads' -> '… spread'.

    The head noun is the last word before a preposition ('videos' in 'videos of politicians').
    """
    words = subject.split()
    position = next((index - 1 for index, word in enumerate(words) if index and word.lower() in _PREPOSITIONS),
                    len(words) - 1)
    head = words[position] if words else ""
    if position == 0 and head.istitle() and _is_common_noun(head.lower()):
        head = head.lower()  # 'Lawmakers in Virginia': capitalised only because it opens the headline
    if not head.islower() or head.endswith(("ss", "us", "is")) or _lemma(head, "NOUN") == head:
        return verb  # a name, a mass noun or a singular: 'Google announces', 'data shows'
    return _inflect(_lemma(verb, "VERB"), "VBP")


def _is_common_noun(word: str) -> bool:
    return "NOUN" in _lemmas(word)


def _lemmas(word: str) -> dict[str, tuple[str, ...]]:
    return lemmas(word.lower())


def _simple_past_to_present(text: str) -> str:
    """'The UN Council adopted a resolution' -> 'The UN Council adopts resolution' (verb within 8 words)."""
    words = text.split(" ")
    for index, word in enumerate(words[1:9], 1):
        following = words[index + 1].lower() if index + 1 < len(words) else ""
        if (word.islower() and (word.endswith("ed") or _irregular_past(word))
                and words[index - 1].lower() not in _PREPOSITIONS
                and (following in _VERB_FOLLOWERS or following[:1].isdigit())):  # "sold 1,500 shares"
            subject = _proper_subject(" ".join(words[:index]))
            tail = re.sub(r"^(?:a|an|the)\s+", "", " ".join(words[index + 1 :]))
            return f"{subject} {_agree(subject, _third_person(word))} {tail}".strip()
    return text


def _irregular_past(word: str) -> bool:
    lemmas = _lemmas(word).get("VERB", ())
    return any(lemma != word and word in _all_forms(lemma, "VBD") for lemma in lemmas)


def _proper_subject(subject: str) -> str:
    """'The US startup OpenAI' -> 'OpenAI', 'Chinese social media giant TikTok' -> 'TikTok'.

    A descriptive lead-in before a name goes; 'The case against Google' keeps its words.
    """
    words = subject.split()
    if len(words) < 3:
        return subject
    name: list[str] = []
    for word in reversed(words):
        if word.endswith((",", ":", ";")):
            return subject  # "With BBM Music, RIM": what comes before a comma is no description of the name
        if _is_name_word(word) or (name and word in _NAME_CONNECTORS):
            name.insert(0, word)
        else:
            break
    while name and name[0] in _NAME_CONNECTORS:
        name.pop(0)
    lead_in = words[: len(words) - len(name)]
    if not name or not lead_in or lead_in[-1].lower() in _PREPOSITIONS or lead_in == ["The"]:
        return subject
    if len(lead_in) <= _NAMING_LEAD_IN and lead_in[0][:1].isupper() and lead_in[0].isalpha() \
            and lead_in[0].lower() not in PLACE_WORDS and lead_in[0].lower() not in STOPWORDS:
        return subject  # "Slack insider Cal Henderson", "Slack CEO Stewart Butterfield": whose insider
    return " ".join(name)


def _is_name_word(word: str) -> bool:
    """'Apple', 'IBM', and names written with a small first letter: 'iPhone', 'eBay' (not '0A', not 'x')."""
    return word[:1].isupper() or (word[:1].islower() and any(ch.isupper() for ch in word[1:]))


def _third_person(form: str, participle: bool = False) -> str:
    """'announced' -> 'announces', 'dismantled' -> 'dismantles', 'preparing' -> 'prepares' (lemminflect); a
    form that is its own lemma ('set', 'put') only where it is known to be a participle ('has set' -> 'sets')."""
    if not form.islower():
        return form
    lemma = _lemma(form, "VERB")
    unchanged = lemma == form and not form.endswith(("ed", "ing")) and not participle
    return form if unchanged else _inflect(lemma, "VBZ")


def _lemma(word: str, upos: str) -> str:
    """The dictionary form of `word` from lemminflect's lemma table ("brought" -> "bring", "videos" ->
    "video"); for a word no table knows, lemminflect's rules guess."""
    lowered = word.lower()
    found = lemmas(lowered).get(upos)
    if not found:
        from lemminflect import getAllLemmasOOV

        found = getAllLemmasOOV(lowered, upos).get(upos)
    return found[0] if found else word


def _inflect(lemma: str, tag: str) -> str:
    from lemminflect import getInflection

    forms = getInflection(lemma, tag=tag)
    return forms[0] if forms else lemma


def _shorten(text: str, skip: int = 0) -> str:
    """Cut at the first clause boundary after a usable length (past `skip` of them), then at phrase
    boundaries to fit."""
    for match in _CLAUSE_CUT.finditer(text):
        if match[0] == ", " and _no_clause_break(text, match.start()):
            continue
        # An appositive or relative clause (", the latest version of …", ", which …") always goes once the
        # headline has its subject and verb; other clauses only once it says enough.
        describes = _DESCRIBING.match(text, match.start())
        if match.start() >= (_MIN_HEADLINE_CORE if describes else _MIN_CLAUSE):
            if skip:
                skip -= 1
                continue
            text = text[: match.start()]
            break
    if len(text) > MAX_HEADLINE:
        # A list's first comma ends a phrase too: "… across research, operations, and administration".
        commas = [m.start() for m in re.finditer(r",\s", text) if len(text[: m.start()].rsplit(", ", 1)) == 1
                  or len(text[: m.start()].rsplit(", ", 1)[1].split()) > 3]
        cuts = sorted(cut for cut in [m.start() for m in _PHRASE_CUT.finditer(text)] + commas
                      if _MIN_HEADLINE <= cut <= MAX_HEADLINE)
        cuts = [cut for cut in cuts if not open_ending(text[:cut])] or cuts
        # A phrase boundary keeps the headline whole; a word boundary is the fallback for long phrases.
        text = text[: cuts[-1]] if cuts and cuts[-1] >= _GOOD_HEADLINE else text[: MAX_HEADLINE + 1].rsplit(" ", 1)[0]
    opening = max(text.rfind("‘"), text.rfind("“"))
    if opening > _MIN_HEADLINE and text.rfind("’") < opening and text.rfind("”") < opening:
        text = text[:opening].rstrip()  # never end inside a quotation
    previous = None
    while previous != text:
        previous, text = text, _DANGLING.sub("", text).rstrip(",;:")
    while open_ending(text) and len(text.split()) > 3:
        text = text.rsplit(" ", 1)[0].rstrip(",;:")  # never end on a word that leaves the sense open
    return text


_LIST_ITEM = re.compile(r"([\w’'.&+-]+)(?:\s[\w’'.&+-]+){0,2}(?:,\s|\s(?:and|or)\s)")


def _no_clause_break(text: str, comma: int) -> bool:
    """A comma inside a list ("for the iPhone, iPad and iPod Touch") or between the adjectives of one noun
    phrase ("publish a public, append-only log") ends no clause."""
    before = text[:comma].split()
    if len(before) >= 2 and before[-2].lower() in ("a", "an", "the") and "ADJ" in _lemmas(before[-1].lower()):
        return True
    last_item = text[:comma].rsplit(", ", 1)
    if len(last_item) == 2 and len(last_item[1].split()) <= 3 and text.startswith(("and ", "or "), comma + 2):
        return True  # the serial comma: "research, operations, and administration"
    item = _LIST_ITEM.match(text, comma + 2)
    return item is not None and item[1].lower() not in STOPWORDS and not item[1].endswith("ing")


# Words a headline must not end on: they promise more ("…chatbots like", "…states that the EU has").
_OPEN_ENDINGS = frozenset(
    "a an the of and or but nor to in for with by on at from into onto about over under between through during "
    "against among via per than as like such that which who whom whose whether if while when where because since "
    "its their his her our your my this these those has have had is are was were will would could can may "
    "might should must be been being do does did says said say according including amid despite little some far "
    "more less most much many few several any each every very so too also just only even still yet not you we "
    "they there".split())
_MODALS = frozenset("is are was were has have had will would can could may might should must do does did be "
                    "won't can't don't doesn't didn't isn't aren't won’t can’t don’t doesn’t didn’t isn’t aren’t".split())


def defects(headline: str) -> list[str]:
    """What makes a headline broken; empty for a sound one. Also bench/quality.py's defect count: a fragment
    (see open_ending), a verb that does not agree with a plural head noun ("Attackers begins"), or a
    reported event not in the present tense ("TikTok globally banned the hashtag", "Google has announced")."""
    words = headline.split()
    if not words:
        return ["empty"]
    found = open_ending(headline)
    if not _has_verb(words):
        found.append("has no verb: it says who, not what they do")
    if headline.startswith("According to"):
        found.append("starts with 'According to'")
    for opening, closing in (("‘", "’"), ("“", "”"), ("(", ")")):
        if headline.count(opening) > headline.count(closing):
            found.append(f"an unclosed {opening}")
    tense = _PAST.search(headline)
    if tense:
        found.append(f"not in the present tense ('{tense[0]}')")
    past = _simple_past(words)
    if past and not tense:
        found.append(f"not in the present tense ('{past}')")
    agreement = _disagreement(words)
    if agreement:
        found.append(agreement[1])
    return found


# "has announced", "were fined", "had been": a reported event told in a past or perfect tense.
_PAST = re.compile(r"\b(?:has|have|had)\s+(?:\w+ly\s+)?(?:been\s+)?[a-z]+(?:ed|en|wn|ught|un|one)\b"
                   r"|\b(?:was|were)\s+[a-z]+(?:ed|en)\b")
_DETERMINERS = frozenset("a an the its their his her this these those our".split())


def open_ending(headline: str) -> list[str]:
    """What leaves a headline's sense open at its end: a function word, a participle awaiting its object
    ("…a lawsuit brought", "…charges stemming"), an open clause, a lone letter, "a €5"."""
    words = headline.split()
    if not words:
        return ["empty"]
    found = []
    last = words[-1].strip("’”'\")").lower()
    before = words[-2].strip(",").lower() if len(words) > 1 else ""
    if last in _OPEN_ENDINGS:
        found.append(f"ends on '{last}'")
    elif (len(words) >= 5 and _is_participle(last)) or (len(words) >= 4 and last.endswith("ing") and _waiting_ing(last, before)):
        found.append(f"ends on a participle awaiting its object ('{last}')")
    if len(last) == 1 and last.isalpha() and last not in ("i",):
        found.append("ends on a lone letter")
    if any(word.lower() in ("that", "which", "who", "whether", "if") for word in words[-3:-1]):
        found.append("ends in an open clause")
    if re.search(r"\b(?:a|an)\s+[€$£]?\d[\d.,]*$", headline):
        found.append("ends mid-phrase on a number ('a €5')")
    lemmas = _lemmas(last)
    if before in ("a", "an", "the") and "ADJ" in lemmas and "NOUN" not in lemmas:
        found.append(f"ends on an adjective awaiting its noun ('{last}')")
    if (before in ("not", "to", "n’t", "n't") or before in _MODALS) and lemmas.get("VERB") == (last,) \
            and "NOUN" not in lemmas:
        found.append(f"ends on a verb awaiting its complement ('{before} {last}')")
    return found


def _has_verb(words: list[str]) -> bool:
    """A finite verb anywhere after the first word: 'announces', 'is', 'exposed', 'Employees use', 'Women
    face'; or a subject and verb in one word: 'It’s that time of year again'."""
    if re.match(r"^(?:we|you|they|i|it|he|she|there|that|here|what)[’'](?:re|ve|ll|s|m|d)$", words[0].lower()):
        return True
    for index, word in enumerate(words[1:], 1):
        lowered = word.lower().strip(",;:’”'\")")
        if lowered in _MODALS or re.match(r"^(?:we|you|they|i|it|he|she|there|that)[’'](?:re|ve|ll|s|m|d)$", lowered):
            return True
        lemmas = _lemmas(lowered)
        if "VERB" not in lemmas or not word.islower():
            continue
        if lowered not in lemmas["VERB"] and not lowered.endswith("ing") and "ADJ" not in lemmas:
            return True
        previous = words[index - 1]
        plural = previous.islower() and _lemma(previous, "NOUN") != previous.lower()  # 'women', 'children'
        subject_like = (previous.lower().endswith("s") or previous[:1].isupper() or previous.lower() in ("we", "they")
                        or plural)
        if subject_like and not lowered.endswith("ing") and previous.lower() not in _DETERMINERS:
            return True
    return False


def _waiting_ing(word: str, before: str) -> bool:
    """'charges stemming', 'actively targeting': an -ing verb after a plural noun, an adverb or a verb;
    'cloud computing' and 'new funding' are nouns."""
    lemmas = _lemmas(word)
    if "VERB" not in lemmas or "NOUN" in lemmas or not before.isalpha():
        return False
    before_lemmas = _lemmas(before)
    plural = "NOUN" in before_lemmas and before.endswith("s") and before not in before_lemmas["NOUN"]
    return plural or before.endswith("ly") or ("VERB" in before_lemmas and "NOUN" not in before_lemmas
                                               and "ADJ" not in before_lemmas)  # not 'advanced computing'


def _disagreement(words: list[str]) -> tuple[int, str] | None:
    """'Attackers begins', 'Lawmakers in Virginia prepares': a plural head noun and a verb in -s; the verb's
    position and the reason."""
    verb = next((index for index, word in enumerate(words[1:7], 1) if word.islower() and word.endswith("s")
                 and "VERB" in _lemmas(word) and "NOUN" not in _lemmas(word)
                 and words[index - 1].lower() not in _PREPOSITIONS), None)
    if verb is None:
        return None
    head = next((words[i - 1] for i in range(1, verb) if words[i].lower() in _PREPOSITIONS), words[verb - 1])
    bare = head.lower()
    nouns = _lemmas(bare).get("NOUN", ())
    if (head.islower() or head == words[0]) and nouns and bare not in nouns and bare.endswith("s") \
            and not bare.endswith(("ss", "us", "is")):
        return verb, f"'{head} … {words[verb]}': a plural subject with a singular verb"
    return None


def _agreeing(text: str) -> str:
    """The verb of a plural head noun in its plural form ('Market reports provides' -> '… provide')."""
    words = text.split(" ")
    found = _disagreement(words)
    if found:
        words[found[0]] = _inflect(_lemma(words[found[0]], "VERB"), "VBP")
    return " ".join(words)


def _simple_past(words: list[str]) -> str | None:
    """'TikTok globally banned the hashtag': a verb in the past tense before its object."""
    for index, word in enumerate(words[1:6], 1):
        following = words[index + 1].lower() if index + 1 < len(words) else ""
        lemmas = _lemmas(word)
        if (word.islower() and following in _DETERMINERS and "VERB" in lemmas and "NOUN" not in lemmas
                and word not in ("was", "were")  # 'Santana was the best pitcher': a state, not an event
                and "ADJ" not in lemmas and any(lemma != word and word in _all_forms(lemma, "VBD")
                                                for lemma in lemmas["VERB"])):
            return word
    return None


def _is_participle(word: str) -> bool:
    """A past participle that is no noun or adjective too: 'brought', 'announced' (not 'exposed online')."""
    lemmas = _lemmas(word)
    if "VERB" not in lemmas or "NOUN" in lemmas:
        return False
    return any(lemma != word and word in _all_forms(lemma, "VBN") for lemma in lemmas["VERB"])


def _all_forms(lemma: str, tag: str) -> tuple[str, ...]:
    from lemminflect import getInflection

    return tuple(getInflection(lemma, tag=tag))
