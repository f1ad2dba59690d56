"""One message catalogue for every text a reader sees: headings, explanations, findings, chart titles, axes,
legends, table headers and index entries, in the campaign's one ``language`` (``zh`` or ``en``).

The catalogue is the YAML files in ``helpers/messages/`` (one per report or topic, loaded together): each key
maps to ``{zh: ..., en: ...}``; texts are :meth:`str.format` templates whose fields are filled by :func:`t`.
Every key must have both languages and be defined once (tests/test_i18n.py checks the catalogue and that every
key used in the code exists).

The current language is set by :func:`helpers.open_campaign` from the campaign's ``language`` (default ``zh``);
a notebook or batch run works on one campaign at a time. ``with language("en"): ...`` switches it for a block.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import string
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from .tag_grammar import breakdown_ref

__all__ = [
    "LANGUAGES",
    "catalogue",
    "close_up",
    "full_stop",
    "column_label",
    "column_word",
    "mid_sentence",
    "has_han",
    "current_language",
    "label",
    "language",
    "list_join",
    "localized",
    "sentence_start",
    "set_language",
    "t",
]

LANGUAGES: tuple[str, ...] = ("zh", "en")
_MESSAGES = Path(__file__).with_name("messages")
_current: contextvars.ContextVar[str] = contextvars.ContextVar("ubakit_language", default="zh")


class MessageError(KeyError):
    """A message key that the catalogue does not define, or a template whose fields were not given."""

    def __str__(self) -> str:  # KeyError quotes its argument; say it plainly
        return str(self.args[0])


#: libyaml's safe loader where PyYAML was built with it: the same values as ``yaml.SafeLoader`` (tests/test_i18n.py),
#: about 10x faster on the 29 message files (0.03 s against 0.27 s, once in every kernel that shows a message)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def catalogue() -> dict[str, dict[str, str]]:
    """Every message: key -> {language: template}, from ``helpers/messages/*.yaml`` (keys unique across files)."""
    out: dict[str, dict[str, str]] = {}
    where: dict[str, str] = {}
    for f in sorted(_MESSAGES.glob("*.yaml")):
        doc = yaml.load(f.read_text(encoding="utf-8"), Loader=_LOADER) or {}
        if not isinstance(doc, Mapping):
            raise ValueError(f"helpers/messages/{f.name}: expected a mapping of message keys")
        for key, texts in doc.items():
            if key in out:
                raise ValueError(f"message {key!r} is defined twice: helpers/messages/{where[key]} and {f.name}")
            if not isinstance(texts, Mapping) or set(texts) != set(LANGUAGES):
                raise ValueError(f"helpers/messages/{f.name}: message {key!r} needs exactly the keys {LANGUAGES}")
            out[str(key)] = {lang: str(texts[lang]) for lang in LANGUAGES}
            where[str(key)] = f.name
    return out


def set_language(lang: str) -> None:
    """Make ``lang`` the language of every later :func:`t` in this context (``zh`` or ``en``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    _current.set(lang)


def current_language() -> str:
    return _current.get()


def list_join(items) -> str:
    """Items of a list in a sentence of the current language: "a、b" in Chinese, "a, b" in English."""
    return ("、" if current_language() == "zh" else ", ").join(str(x) for x in items)


def clause_join(items) -> str:
    """Notes or clauses one after another in the current language: after a full sentence ("…。", "….") the next
    follows it directly (a space in English); otherwise they are parted by "；" in Chinese and "; " in English
    (未计算；没有安慰剂检验 / not computed; no placebo check)."""
    zh = current_language() == "zh"
    out = ""
    for x in (str(x) for x in items):
        if out:
            full = out.endswith(("。", "！", "？") if zh else (".", "!", "?"))
            out += ("" if zh else " ") if full else ("；" if zh else "; ")
        out += x
    return out


def close_up(text: str) -> str:
    """``text`` without the spaces between two Chinese characters or Chinese punctuation marks: a YAML folded block
    (``description: >``) joins its lines with a space, which Chinese does not have ("购买。 该数据集" reads
    "购买。该数据集"). A name inserted into a message needs no such repair: :func:`t` spaces it as its edges need."""
    return _CJK_SPACE.sub("", text)


def sentence_start(text: str) -> str:
    """``text`` opening an English sentence: its first letter capitalized ("active users" -> "Active users"). For
    the catalogue's lowercase names that start a finding or a header; Chinese, text already capitalized and a first
    word with a capital inside ("iOS users", "eBay") and a code ("experiment.assignment: …", "user_id …")
    unchanged."""
    first = re.match(r"\w*", text)
    word = first.group(0) if first else ""
    code = "_" in word or re.match(r"\w+\.\w", text) is not None
    if current_language() == "en" and text[:1].islower() and word == word.lower() and not code:
        return text[:1].upper() + text[1:]
    return text


def full_stop(text: str) -> str:
    """``text`` ending as a sentence: "。" (a Chinese page) or "." added when it ends without a full stop, question or
    exclamation mark ("… lengthen the period" -> "… lengthen the period."); a reason shown on its own, as the index
    shows why a report could not compute. Empty text stays empty."""
    body = text.rstrip()
    if not body or body[-1] in ".。!！?？…":
        return body
    return body + ("。" if current_language() == "zh" else ".")


_HAN = "\u3400-\u9fff\uf900-\ufaff"  # Chinese characters (ideographs and compatibility ideographs)
# Chinese characters, CJK punctuation (。、「」…) and full-width forms (（），：；…): :func:`close_up` joins any two;
# :func:`t` removes spaces only beside the punctuation among them (_FULL_PUNCT), since it spaces Latin names
_CJK = _HAN + "\u3000-\u303f\uff01-\uff60"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}]) +(?=[{_CJK}])")


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    """``with language("en"):`` render in ``lang`` for the block, then restore the previous language."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    token = _current.set(lang)
    try:
        yield
    finally:
        _current.reset(token)


def t(key: str, /, lang: str | None = None, **values: Any) -> str:
    """The message ``key`` in the current language (or ``lang``), its ``{fields}`` filled from ``values``."""
    msgs = catalogue()
    if key not in msgs:
        raise MessageError(f"message {key!r} is not in the catalogue (helpers/messages/*.yaml)")
    lang = lang or _current.get()
    template = msgs[key][lang]
    try:
        if lang == "zh":  # Chinese sets no space next to its own punctuation: "3 个群 （" reads "3 个群（"
            text = _fill_spaced(template, values) if _HAN_FIELD.search(template) else template.format(**values)
            return _PUNCT_SPACE.sub("", text)
        return _singular(template.format(**values))
    except (KeyError, IndexError) as e:
        raise MessageError(f"message {key!r} needs the value {e}") from None


#: the nouns English messages count, plural -> singular: "1 users" reads "1 user" (:func:`_singular`)
_SINGULAR = {
    **{w + "s": w for w in ("user", "row", "review", "order", "event", "buyer", "line", "day", "item", "customer",
                            "comparison", "session", "week", "month", "hour", "value", "group", "segment", "variant",
                            "step", "pair", "basket", "id", "channel", "conversion", "product", "cluster", "tag",
                            "audience", "member", "file", "column", "table", "report", "rule", "purchase",
                            "repurchaser", "driver", "candidate", "visit", "time", "spelling")},
    "categories": "category", "touches": "touch", "matches": "match",
}  # fmt: skip
_ONE = re.compile(r"(?<![\d.,\-])(1(?:\*\*)?) (" + "|".join(sorted(_SINGULAR, key=len, reverse=True)) + r")\b")


def _singular(text: str) -> str:
    """English counts of one in the singular: a message says "{n} users", and n was 1 ("1 users", "**1** rows").
    A number such as 21, 0.1 or 1,001 keeps its plural."""
    return _ONE.sub(lambda m: f"{m.group(1)} {_SINGULAR[m.group(2)]}", text) if "1" in text else text


_HAN_FIELD = re.compile(rf"[{_HAN}]\**\{{|\}}\**[{_HAN}]")  # a field (bold or not) right next to a Chinese character
_HAN_CHAR = re.compile(f"[{_HAN}]")


def has_han(text: str) -> bool:
    """Whether ``text`` has a Chinese character (a display name that an English page does not show)."""
    return bool(_HAN_CHAR.search(text))


_FULL_PUNCT = (
    "\u3001\u3002\u3008-\u3011\uff01\uff08\uff09\uff0c\uff1a\uff1b\uff1f"  # 、。〈〉《》「」『』【】！（），：；？
)
_PUNCT_SPACE = re.compile(rf" +(?=[{_FULL_PUNCT}])|(?<=[{_FULL_PUNCT}]) +")
_LATIN_END = re.compile(r"[A-Za-z0-9%]")


def _fill_spaced(template: str, values: dict[str, Any]) -> str:
    """A Chinese template filled, with a space between a Chinese character of the template and a Latin letter or
    digit at the edge of the value next to it (a template writes ``没有{what}行为``: 没有购买行为, 没有 buy 行为), as
    Chinese typesetting sets Latin words apart. Values that are Chinese, empty or start with punctuation join."""
    parts = list(string.Formatter().parse(template))
    lits = [p[0] for p in parts]  # the literals, the next one spaced after a bold field below
    out: list[str] = []
    for i, (_, field, spec, conv) in enumerate(parts):
        out.append(lits[i])
        if field is None:
            continue
        text = ("{" + field + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}").format(**values)
        # a bold field (最佳模型**{model}**) is spaced outside its markers: "最佳模型 **LightGBM**"
        head = "".join(out)
        bare = head.rstrip("*")
        nxt = lits[i + 1] if i + 1 < len(lits) else ""
        tail = nxt.lstrip("*")
        if text and bare and _HAN_CHAR.match(bare[-1]) and _LATIN_END.match(text[0]):
            out = [bare, " ", head[len(bare) :]]
        if text and tail and _HAN_CHAR.match(tail[0]) and _LATIN_END.match(text[-1]):
            lits[i + 1] = nxt[: len(nxt) - len(tail)] + " " + tail
        out.append(text)
    return "".join(out)


def label(key: str, default: str | None = None, /, lang: str | None = None) -> str:
    """A short label (column header, legend entry, report name) for ``key``; ``default`` (or the key itself)
    when the catalogue has none, so machine names from the data pass through unchanged."""
    msgs = catalogue()
    if key in msgs:
        return msgs[key][lang or _current.get()]
    return key if default is None else default


def column_label(column: str | None, /, lang: str | None = None) -> str:
    """The display name of the data column ``column`` in a sentence or header ("channel" -> "渠道" / "Channel",
    catalogue keys ``col.<column>``); a column the catalogue does not know keeps its own name; None gives "".
    A breakdown by a tag or an audience (``tag:常来``, ``audience:高价值``) reads 标签“常来” / tag “常来”."""
    if column is None:
        return ""
    ref = breakdown_ref(column)
    if ref:  # a breakdown by a tag or an audience: 标签“常来”, tag “regular”
        return t(f"col.{ref[0]}_of", name=ref[1], lang=lang)
    return label(f"col.{column}", column, lang=lang)


def column_word(column: str | None, /, lang: str | None = None) -> str:
    """:func:`column_label` inside an English sentence: a header word loses its capital ("Segments by channel",
    not "by Channel"); an acronym or a word with another capital ("GMV", "User ID" -> "user ID", "iOS") keeps
    it. Chinese as :func:`column_label`. A label quoted as the page's header ("see the column “…”") keeps it."""
    return mid_sentence(column_label(column, lang=lang), lang=lang)


def mid_sentence(text: str, /, lang: str | None = None) -> str:
    """A name that heads a table or a headline ("Week-4 retention", "Channel") inside an English sentence: its
    first word loses the capital when only its first letter is one ("week-4 retention"); an acronym, a word with
    another capital ("GMV", "iOS") and Chinese unchanged. The reverse of :func:`sentence_start`."""
    if (lang or current_language()) == "en" and re.match(r"[A-Z][a-z]+\b", text):
        return text[:1].lower() + text[1:]
    return text


class _Localized:
    """A class attribute read from the catalogue each time it is read (see :func:`localized`)."""

    def __init__(self, key: str):
        self.key = key

    def __get__(self, obj: object, owner: type | None = None) -> str:
        return t(self.key)

    def __repr__(self) -> str:
        return f"localized({self.key!r})"


def localized(key: str) -> Any:
    """A class attribute whose value is the message ``key`` in the language current when it is read, e.g.
    ``title: ClassVar[str] = localized("clustering.title")`` (``Report.title``, ``Report.unavailable_label``)."""
    return _Localized(key)
