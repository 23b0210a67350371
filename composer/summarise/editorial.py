"""The issue headline and the editorial, written from the chosen stories, offline and deterministically.

The editorial tells the week as #209's does (seed 002): an opening that names the week's theme (what the
plurality of the Radar shares: a law, an actor, a place, a technology or a basket) with a story of that
theme, then the stories by basket, up to three in a paragraph where they are of one basket or a transition
is true of both (the same actor: "Staying with Google"; the same place: "Staying in the Netherlands"), a new
paragraph across the Atlantic, on a technology both name ("Speaking of AI") or for a new basket (its opener,
where the sentence is about that basket). Each story is told in a sentence of its own article that says
what the story is, is not its Radar teaser (though it may be that sentence's main clause) and stands alone
(summarise.context); a story with no such sentence is left to the Radar. Then the blog and a pointer that names only the
sections the issue has. Transitions are checked on the sentences the reader reads, not on the articles.
Every fixed phrase comes from the strings catalogue's [editorial] table (render.strings), in the
edition's language.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from composer.language import STOPWORDS, content_words, ends_sentence, split_sentences
from composer.models import Entry, Item
from composer.render.strings import EditorialStrings
from composer.summarise.context import leans
from composer.summarise.lexicon import lemmas
from composer.summarise.names import AMERICA, EUROPE, PLACE_WORDS, first_place, names, places

MAX_ISSUE_HEADLINE = 60  # "DW Weekly #210 – " and this fit the 78 characters of a Subject
_STORIES_PER_PARAGRAPH = 3
_SEARCHED_PARAGRAPHS = 8
_RETELLING = (50, 230)
_OPENING_WORDS = 6  # a sentence that names the actor this early needs no "Staying with" before it
_SAYS_WHAT = 4  # a retelling names the title's actor or shares one in this many of its words
_LABEL = re.compile(r"^[A-Z][\w’' ]{0,25}:")  # "Disclosure: …", "Editor's note: …", "The idea: …"
_LAW = re.compile(r"\b(?:Act|Regulation|Directive|Convention|Treaty|Code|Bill)$|^[A-Z]{3,5}$")
# Capitalised words that name no particular actor.
_NOT_ACTORS = frozenset({"AI", "US", "EU", "UK", "UN", "CEO", "I", "Internet", "Global", "House", "Digital"})


class Story(NamedTuple):
    """A chosen entry with the article it came from and the technologies curate found in it."""

    entry: Entry
    item: Item | None
    technologies: tuple[str, ...] = ()


class Editorial(NamedTuple):
    paragraphs: tuple[str, ...]
    told: dict[str, str]  # item_id: title of each story the editorial tells


class Theme(NamedTuple):
    """What the plurality of the Radar shares, and which stories share it."""

    kind: str  # a field of EditorialStrings.openings: basket, law, actor, place, technology or varied
    label: str
    members: tuple[int, ...]  # indexes into the Radar


def week_theme(radar: list[Story], themes: dict[str, str]) -> Theme:
    """The law, actor, place, technology or basket most Radar stories share (at least two); the more
    specific one on a tie (a law before an actor, an actor before a place, a place before a technology, a
    technology before a basket); "varied" when no two stories share anything."""
    shared: dict[tuple[str, str], list[int]] = {}
    for index, story in enumerate(radar):
        for feature in _features(story, themes):
            shared.setdefault(feature, []).append(index)
    rank = {"law": 4, "actor": 3, "place": 2, "technology": 1, "basket": 0}
    best = max(shared.items(), key=lambda kv: (len(kv[1]), rank[kv[0][0]], -kv[1][0], kv[0][1]), default=None)
    if best is None or len(best[1]) < 2:
        return Theme("varied", "", tuple(range(len(radar))))
    (kind, label), members = best
    return Theme(kind, label, tuple(members))


def _features(story: Story, themes: dict[str, str]) -> set[tuple[str, str]]:
    entry, item = story.entry, story.item
    lead = item.paragraphs[0] if item else ""
    text = f"{entry.title}. {lead}"
    article = " ".join(item.paragraphs) if item else entry.teaser
    found = {("basket", themes[entry.topic]) for _ in (0,) if entry.topic in themes}
    found |= {("place", place) for place in places(text)}
    found |= {("technology", technology) for technology in story.technologies}
    for name in _actors(text, article):
        found.add(("law" if _LAW.search(name) else "actor", name))
    return found


def _actors(text: str, article: str) -> list[str]:
    """The organisations, people, laws and events `text` names (not places, not generic words), in order."""
    return list(dict.fromkeys(
        name for name in names(text, article) if name not in _NOT_ACTORS and len(name) > 1
        and not all(word.lower() in PLACE_WORDS or word.lower() in STOPWORDS for word in name.split())))


def issue_headline(radar: list[Story], words: EditorialStrings, themes: dict[str, str], cues: tuple[str, ...]) -> str:
    """DW style: the week's theme, a colon, then 2-4 specific phrases of the week (named actors, laws,
    cases, events: "All eyes on the EU: DSA, Grok, Meta and Apple"), in at most 60 characters so the
    Subject keeps them; never a generic noun or a cue word of topics.toml."""
    if not radar:
        return words.quiet_headline
    theme = week_theme(radar, themes)
    head = getattr(words.headlines, theme.kind).format(theme=theme.label)
    generic = {cue.lower() for cue in cues}
    found: list[str] = []
    for story in radar:
        phrase = _headline_phrase(story, generic, {head.lower(), theme.label.lower()})
        if (phrase and len(found) < 4
                and all(phrase.lower() not in known.lower() and known.lower() not in phrase.lower() for known in found)
                and len(f"{head}: {_join([*found, phrase], words.list_and)}") <= MAX_ISSUE_HEADLINE):
            found.append(phrase)
    return f"{head}: {_join(found, words.list_and)}" if len(found) >= 2 else head


def _headline_phrase(story: Story, generic: set[str], taken: set[str]) -> str | None:
    """The story's most specific name: a law or event before an organisation or person, before a place
    that acts ("EU fines Apple"); a place where something merely happens ("… at IGF 2025 in Norway") is none."""
    article = " ".join(story.item.paragraphs) if story.item else story.entry.teaser
    for text in (story.entry.title, story.entry.teaser):
        candidates = [name for name in _actors(text, article) if not _generic(name, generic)
                      and not any(name.lower() in known for known in taken) and len(name) <= 30]
        actor = first_place(" ".join(text.split()[:3]))
        candidates += [actor] if actor and actor.lower() not in " ".join(taken) else []
        if candidates:
            return max(candidates, key=lambda name: (bool(_LAW.search(name)), name not in places(text),
                                                     -candidates.index(name)))
    return None


def _generic(name: str, cues: set[str]) -> bool:
    """A cue word of topics.toml made of dictionary words ("Cloud", "Bitcoin"); a name that is also a cue
    ("OpenAI", "Starlink") is as specific as any."""
    return name.lower() in cues and all(lemmas(word.lower()) for word in name.split())


def editorial(radar: list[Story], reading_corner: list[Story], words: EditorialStrings, themes: dict[str, str],
              cues: dict[str, tuple[str, ...]] | None = None, sections: dict[str, str] | None = None,
              events: bool = False) -> Editorial:
    """The editorial paragraphs, the pointer last, and which stories they tell. `cues` are the words of
    topics.toml by basket and technology: a basket opener or "Speaking of AI" is used only where the
    sentences carry them. `sections` are the sections' names in the edition ("radar": "Radar", …): the
    pointer names only those the issue has."""
    cues = cues or {}
    told: dict[str, str] = {}
    tellings = [_retelling(story) for story in radar]
    if len(radar) <= 1:
        first = tellings[0] if tellings else None
        opening = words.quiet_week if not radar else words.quiet_week_one_story + (f" {first}" if first else "")
        told.update(_told(radar[:1] if first else []))
        return Editorial((opening,) if not radar else (opening, _pointer(words, sections or {}, bool(reading_corner),
                                                                          events)), told)
    theme = week_theme(radar, themes)
    lead = next((index for index in theme.members if tellings[index]), None)
    opening = getattr(words.openings, theme.kind).format(theme=theme.label)
    opening = opening[:1].upper() + opening[1:]
    paragraphs = [f"{opening} {tellings[lead]}" if lead is not None else opening]
    told.update(_told([radar[lead]] if lead is not None else []))
    previous: tuple[Story, str] | None = None
    if lead is not None and (lead_telling := tellings[lead]):
        previous = (radar[lead], lead_telling)
    remaining = [index for index in _by_basket(radar) if index != lead and tellings[index]]
    # The opening named the week's technology already: no "Speaking of AI" in a week about AI.
    cues = {key: value for key, value in cues.items() if not (theme.kind == "technology" and key == theme.label)}
    used: set[str] = set()
    in_paragraph = 1
    while remaining:
        index = _next_story(remaining, radar, tellings, previous, cues)
        remaining.remove(index)
        story, telling = radar[index], tellings[index] or ""
        kind, opener = _transition(previous, (story, telling), words, cues, used)
        if not opener and not any(radar[i].entry.topic == story.entry.topic for i in _told_indexes(told, radar)):
            opener = _basket_opener(story, telling, words, cues, used)
        used.add(opener)
        sentence = _joined(opener, telling, story)
        # A story goes on in the paragraph of the one before when a transition links them, or when both are of
        # one basket and nothing opens a new turn ("In cybersecurity, … A breach at Discord's vendor …").
        same_basket = previous is not None and previous[0].entry.topic == story.entry.topic and not opener
        if (kind == "same" or same_basket) and in_paragraph < _STORIES_PER_PARAGRAPH:
            paragraphs[-1] = f"{paragraphs[-1]} {sentence}"
            in_paragraph += 1
        else:
            paragraphs.append(sentence)
            in_paragraph = 1
        told.update(_told([story]))
        previous = (story, telling)
    blog_telling = _retelling(reading_corner[0]) if reading_corner else None
    if blog_telling:
        paragraphs.append(words.the_blog.format(story=_lowered(blog_telling, reading_corner[0])))
        told.update(_told(reading_corner[:1]))
    paragraphs.append(_pointer(words, sections or {}, bool(reading_corner), events))
    return Editorial(tuple(paragraphs), told)


def _told_indexes(told: dict[str, str], radar: list[Story]) -> list[int]:
    return [index for index, story in enumerate(radar) if story.entry.item_id in told]


def _by_basket(radar: list[Story]) -> list[int]:
    """Radar order, the stories of one basket together (in the order the baskets first appear)."""
    order = list(dict.fromkeys(story.entry.topic for story in radar))
    return sorted(range(len(radar)), key=lambda index: (order.index(radar[index].entry.topic), index))


def _next_story(remaining: list[int], radar: list[Story], tellings: list[str | None],
                previous: tuple[Story, str] | None, cues: dict[str, tuple[str, ...]]) -> int:
    """The next story to tell: one the reader can be walked to from the last ("Staying with …"), else one
    on the same technology ("Speaking of AI"), else the next of the same basket, else the next in order."""
    if previous is not None:
        for index in remaining:
            telling = tellings[index]
            if telling and _relation(previous, (radar[index], telling))[0] in ("actor", "place"):
                return index
        for index in remaining:
            if _technologies(previous, (radar[index], tellings[index] or ""), cues):
                return index
        same = [index for index in remaining if radar[index].entry.topic == previous[0].entry.topic]
        if same:
            return same[0]
    return remaining[0]


def _technologies(previous: tuple[Story, str], current: tuple[Story, str],
                  cues: dict[str, tuple[str, ...]]) -> list[str]:
    """The technologies of `cues` both stories are filed under and both told sentences name."""
    return [technology for technology in sorted(set(previous[0].technologies) & set(current[0].technologies))
            if technology in cues and _carries(previous[1], cues[technology]) and _carries(current[1], cues[technology])]


def _relation(previous: tuple[Story, str], current: tuple[Story, str]) -> tuple[str, str]:
    """How the two told sentences relate: ("actor", name), ("place", place), ("atlantic", ""), or ("", "")."""
    (before_story, before), (story, now) = previous, current
    before_article = " ".join(before_story.item.paragraphs) if before_story.item else ""
    article = " ".join(story.item.paragraphs) if story.item else ""
    actors = set(_actors(before, before_article)) & set(_actors(now, article))
    actors = {actor for actor in actors if not _LAW.search(actor) or len(actor) > 5}
    if actors:
        return "actor", sorted(actors, key=lambda actor: (-len(actor), actor))[0]
    place = first_place(before)
    if place and places(now) == {place}:
        return "place", place  # both stories happen there: the second names no other place ("the US tech giant,
        # Google, … in Belgium" is not "Staying in the US")
    if (places(before) & EUROPE and places(now) & AMERICA and not places(now) & EUROPE) or (
            places(before) & AMERICA and places(now) & EUROPE and not places(now) & AMERICA):
        return "atlantic", ""
    return "", ""


def _transition(previous: tuple[Story, str] | None, current: tuple[Story, str], words: EditorialStrings,
                cues: dict[str, tuple[str, ...]], used: set[str]) -> tuple[str, str]:
    """("same", opener) for a transition that keeps the paragraph going, ("new", opener) for one that opens
    a new paragraph, ("new", "") for none, ("same", "") where the link is said already. Never a transition said before in the issue."""
    if previous is None:
        return "new", ""
    kind, value = _relation(previous, current)
    if kind == "actor" and value in " ".join(current[1].split()[:_OPENING_WORDS]):
        return "same", ""  # "Google has also …", "At the IGF …" go on without "Staying with Google, Google …"
    options = []
    if kind == "actor":
        # "the Internet Governance Forum", "the FTC" where the text writes them so; "Google" alone, though the
        # text says "the Google assistant".
        institution = " " in value or value.isupper()
        named = f"the {value}" if institution and re.search(rf"\bthe {re.escape(value)}\b",
                                                            f"{previous[1]} {current[1]}") else value
        options.append(("same", words.staying_with.format(actor=named)))
    if kind == "place":
        options.append(("same", words.staying_in.format(place=value)))
    if kind == "atlantic":
        options.append(("new", words.across_the_atlantic))
    for technology in _technologies(previous, current, cues):
        label = technology if technology.isupper() else technology.lower()
        options.append(("new", words.speaking_of.format(topic=label)))
    unsaid = next(((kind, opener) for kind, opener in options if opener not in used), None)
    if unsaid:
        return unsaid
    # Said before in the issue: the same actor or place still goes on in its paragraph, without it.
    return ("same", "") if kind in ("actor", "place") else ("new", "")


def _basket_opener(story: Story, telling: str, words: EditorialStrings, cues: dict[str, tuple[str, ...]],
                   used: set[str]) -> str:
    """The basket's opener ("In cybersecurity"), where the sentence itself is about that basket."""
    basket = story.entry.topic or ""
    opener = words.openers.get(basket, "")
    return opener if opener and opener not in used and _carries(telling, cues.get(basket, ())) else ""


def _carries(text: str, words: tuple[str, ...]) -> bool:
    lowered = text.lower()
    return any(re.search(rf"(?<![\w-]){re.escape(word.lower())}(?![\w-])", lowered) for word in words)


def _retelling(story: Story) -> str | None:
    """The story in one sentence of its own article that says what the story is and stands alone, and
    that its Radar teaser does not already say; None when the article has none (the Radar tells it).

    A sentence of the teaser may still tell the story by its main clause, cut before the detail the Radar
    gives ("IBM has announced a major investment plan worth $150 billion." before "… over the next five
    years to solidify its role …"): a lead is the news, where a later sentence is often background."""
    entry, item = story.entry, story.item
    if item is None:
        return None
    from composer.promo import promotional

    article = " ".join(item.paragraphs)
    title_words = set(content_words(entry.title))
    actors = _actors(entry.title, article)
    actor_words = {word for actor in actors for word in actor.split() if len(word) > 2 and word.lower() not in STOPWORDS}
    teaser = " ".join(entry.teaser.split())
    candidates = []
    sentences = [s for paragraph in item.paragraphs[:_SEARCHED_PARAGRAPHS] for s in split_sentences(paragraph)]
    for position, sentence in enumerate(sentences):
        whole = " ".join(sentence.split())
        text = (_main_clause(whole) if whole in teaser else whole) or ""
        if (not text or entry.title in text or not ends_sentence(text) or not _RETELLING[0] <= len(text) <= _RETELLING[1]
                or _LABEL.match(text) or promotional(text) or leans(text, article=article)):
            continue
        first = text.split(" ", 1)[0]
        overlap = len(title_words & set(content_words(text)))
        names_actor = any(actor in text for actor in actors)
        named = names_actor or any(re.search(rf"\b{re.escape(word)}\b", text) for word in actor_words)
        if not named and overlap < max(1, len(title_words) // _SAYS_WHAT):
            continue  # it does not say what the story is: "Fans … will enjoy access to the athletes …"
        # A sentence that opens with its subject reads well after a transition; one that opens with a
        # phrase ("As the AI race…", "Moderated by…") does not.
        phrase_first = (first.lower() in STOPWORDS and first not in ("The", "A", "An")) or first.endswith(("ed", "ing"))
        candidates.append((overlap + 3 * names_actor - 2 * phrase_first - 0.5 * position, text))
    return max(candidates)[1] if candidates else None


# Where a sentence's main clause ends and its detail begins: ", with …", ", which …", " over the next …".
_DETAIL = re.compile(r",\s(?:with|which|while|as|after|amid|according|following|citing|saying|including|"
                     r"[a-z]+ing)\b|\s(?:over the next|over the coming|in the coming|within the coming|"
                     r"amid|after|following|according to|in order to)\s")


def _main_clause(sentence: str) -> str | None:
    """`sentence` cut at its first detail after the subject and verb, as a sentence; None when it has no
    such cut or what is left is not a whole clause."""
    from composer.summarise.headline import open_ending

    for cut in _DETAIL.finditer(sentence):
        clause = sentence[: cut.start()].rstrip(" ,;:")
        if _RETELLING[0] <= len(clause) and not open_ending(clause) and leans(clause) is None:
            return f"{clause}."
    return None


def _joined(opener: str, sentence: str, story: Story) -> str:
    return f"{opener}, {_lowered(sentence, story)}" if opener else sentence


def _lowered(sentence: str, story: Story) -> str:
    """The sentence with its first word lower-cased after a transition, unless that word is a name."""
    from composer.summarise.names import is_proper

    first, _, rest = sentence.partition(" ")
    article = " ".join(story.item.paragraphs) if story.item else ""
    # Where else the reader's story writes the word: the rest of its article, its title and its teaser.
    evidence = f"{article.replace(sentence, '', 1)} {rest} {story.entry.title} {story.entry.teaser}"
    if not is_proper(first, evidence):
        first = first[:1].lower() + first[1:]
    return f"{first} {rest}".rstrip()


def _pointer(words: EditorialStrings, sections: dict[str, str], reading_corner: bool, events: bool) -> str:
    """The pointer when every section it names is in the issue, else the one to the Radar alone. Without
    the sections' names, the pointer is taken to name the Radar and the Reading Corner, as the catalogue's does."""
    present = {"radar": True, "reading_corner": reading_corner, "events": events}
    named = ([key for key, name in sections.items() if name.lower() in words.pointer.lower()] if sections
             else ["radar", "reading_corner"])
    return words.pointer if all(present.get(key, False) for key in named) else words.pointer_radar


def _told(stories: list[Story]) -> dict[str, str]:
    return {story.entry.item_id: story.entry.title for story in stories if story.entry.item_id}


def _join(parts: list[str], last: str) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} {last} {parts[-1]}"

