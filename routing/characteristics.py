"""The characteristics of an appeal that the Classifier of citizens' appeals (Cabinet of
Ministers resolution No. 858) asks the register and the quarterly reports to carry: form of
receipt, sign (primary / repeated / duplicate / multiple / mass), type (proposal /
application / complaint), subject (individual / collective / anonymous), the author's
privileged category and the classifier topic code.

Pure: it reads facts already established at registration (the text, the repeat verdict,
the signatories, anonymity, the privileged category, the model's topic) and says, for each
characteristic, its value and where the value came from: "rule" (a rule here), "model"
(the topic classifier) or "staff" (a person set it later).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import saferegex

# Form of receipt (форма надходження). The classifier lists post, e-mail, in person, via
# another body, web form...; the gateway receives e-mail, directly or forwarded by a body,
# and its internet reception's form (routing.reception).
FORMS = ("email", "other_body", "web_form")
FORM_LABELS = {
    "email": "електронною поштою",
    "other_body": "через інший орган",
    "web_form": "через вебформу",
}

# Sign (ознака надходження) as the classifier names them.
SIGNS = ("primary", "repeated", "duplicate", "multiple", "mass")
SIGN_LABELS = {
    "primary": "первинне",
    "repeated": "повторне",
    "duplicate": "дублетне",
    "multiple": "неодноразове",
    "mass": "масове",
}

# Type (вид звернення), Law 393/96-ВР Art. 3.
TYPES = ("proposal", "application", "complaint")
TYPE_LABELS = {"proposal": "пропозиція", "application": "заява", "complaint": "скарга"}

# Subject (суб'єкт): Art. 5 (collective, several signatories), Art. 8 (anonymous).
SUBJECTS = ("individual", "collective", "anonymous")
SUBJECT_LABELS = {
    "individual": "індивідуальне",
    "collective": "колективне",
    "anonymous": "анонімне",
}

# Result of consideration (результат розгляду).
RESULTS = ("resolved", "explained", "refused", "forwarded", "returned", "not_considered")
RESULT_LABELS = {
    "resolved": "вирішено позитивно",
    "explained": "роз'яснено",
    "refused": "відмовлено",
    "forwarded": "надіслано за належністю (ст. 7)",
    "returned": "повернуто (ст. 5)",
    "not_considered": "не розглядалось (ст. 8)",
}
# What staff write after `#result` (Ukrainian, with the common apostrophe variants).
RESULT_WORDS = {
    "вирішено": "resolved",
    "роз'яснено": "explained",
    "відмовлено": "refused",
    # The English letters name the results in English; staff may type either.
    "resolved": "resolved",
    "explained": "explained",
    "refused": "refused",
}
DEFAULT_RESULT = "explained"


@dataclass(frozen=True)
class RegistryConfig:
    """Settings [registry]: how topics map onto classifier codes and who counts as
    another body; same names as the settings."""

    # classifier label -> topic code of the Classifier (resolution No. 858).
    topic_codes: Mapping[str, str] = field(default_factory=dict)
    # Code recorded when a label has no entry (or there is no label).
    default_topic_code: str = ""
    # Sender domains of public bodies: mail from them is an appeal "via another body".
    other_body_domains: tuple[str, ...] = ()


# Type rules, checked complaint first: a letter that complains and asks is a complaint
# (Art. 3: a complaint asks to restore rights violated by a body's or an official's
# decision, action or inaction), a letter that proposes something and asks nothing of the
# kind is a proposal, anything else an application (a request, or a report of a fault or
# of a breach of the law, which Art. 3 counts as an application too). The cues were
# written against the development part of bench/data/appeal_types.jsonl
# (bench/type_model.py prints the held-out figure).
# The start of a word (RE2 has no look-behind and an ASCII-only \b).
_B = r"(?:^|\W)"
_COMPLAINT = saferegex.compile(
    "|".join(
        (
            # naming it: скарга, скаржуся, поскаржитися, оскаржую, жалоба, жалуюсь
            _B + r"(?:скарг|скарж|поскарж|оскарж|жалоб|жалу[юе]|обжал|complain)",
            _B + r"(?:бездіяльн|бездейств)",
            # rights violated: "порушено мої права", "мої права порушено", "захистити права"
            r"(?:порушен|порушил|порушу|нарушен|нарушил)\w*\s+(?:\w+\s+){0,2}прав",
            _B + r"прав\w*\s+(?:\w+\s+)?(?:порушен|нарушен)",
            _B + r"(?:захист\w*|захистити|защит\w*)\s+(?:\w+\s+){0,2}(?:прав|дитин|від)",
            _B + r"прошу захисту",
            # an unlawful decision, action, refusal
            _B
            + r"(?:незаконн|неправомірн|протиправн|безпідставн|необґрунтован)\w*\s+(?:\w+\s+){0,2}"
            r"(?:ді[їя]|рішен|відмов|звільн|нарах|стягн|знят|зняли|позбав|вимага|склад|демонт)",
            _B + r"(?:відмовил|звільнил|нарахувал|позбавил|зняли|стягнул)\w*\s+(?:\w+\s+){0,3}"
            r"(?:незаконн|безпідставн|протиправн|без жодн)",
            _B + r"(?:визнати|вважаю)\s+(?:\w+\s+){0,3}(?:незаконн|неправомірн|протиправн)",
            # someone should answer for it
            _B + r"(?:притягн|притягти|покара|службов\w+\s+розслідуван|до відповідальност)",
            r"ма(?:є|ють)\s+(?:за це\s+)?відповісти",
            _B
            + r"(?:вжити|вжийте|принять|примите)\s+(?:\w+\s+){0,1}(?:заход\w*|мер\w*)\s+(?:до|к)\s",
            _B + r"вимага(?:ю|ємо)" + r"|" + _B + r"вимагав\w*\s+(?:у|від)\s+мене",
            # answers that are no answers, silence, being ignored
            _B + r"(?:відписк|відписа|відписую)",
            _B + r"(?:не\s+реагу|ігнору|не\s+реагиру|игнориру|нехту)",
            r"(?:без|немає|нема|не\s+дають|досі\s+немає)\s+(?:\w+\s+){0,1}відповід",
            r"відповід\w*\s+(?:\w+\s+){0,1}(?:досі\s+)?(?:немає|нема|не\s+надійшл)",
            _B + r"не\s+(?:отвечают|відповідають|бере трубку)",
            # disagreeing, protesting
            _B + r"(?:не\s+згод|незгод|не\s+погоджу|не\s+влаштову)",
            _B + r"(?:не\s+удовлетвор|не\s+соглас|несоглас)",
            _B + r"(?:протестую|обурен|неприпустим|неправда)",
            _B + r"(?:затягу|втретє|вчетверте|вже\s+вдруге)",
            _B + r"(?:в\s+грубій\s+формі|зневажлив|принизи|кричал|грубо)",
        )
    ),
    saferegex.IGNORECASE,
)
_PROPOSAL = saferegex.compile(
    "|".join(
        (
            _B + r"(?:пропон|запропон|пропозиці|предлага|предложени|предложение|зауваженн)",
            _B
            + r"(?:рекоменд|порад|радж[уy]|раджу|ідея|ідею|идея|маю\s+ідею|є\s+думка|як\s+варіант)",
            _B + r"(?:було\s+б|было\s+бы|буде)\s+(?:\w+\s+){0,1}"
            r"(?:добре|чудово|корисно|доцільно|правильно|непогано|зручно|отлично|хорошо|полезно)",
            _B + r"(?:варто|чи\s+не\s+варто)(?:\W|$)",
            _B + r"(?:доцільн|можна\s+було\s+б|поділитися\s+думкою|as\s+a\s+suggestion)",
            _B + r"(?:propos|suggest)",
        )
    ),
    saferegex.IGNORECASE,
)


@dataclass(frozen=True)
class Characteristics:
    form: str
    sign: str
    type: str
    subject: str
    privileged_category: str | None
    topic_code: str
    sources: dict[str, str]


def appeal_type(text: str, subject: str = "") -> str:
    """Proposal, application or complaint from the wording; an application when nothing
    says otherwise (Art. 3: the general kind of request)."""
    both = f"{subject}\n{text}"
    if _COMPLAINT.search(both):
        return "complaint"
    if _PROPOSAL.search(both):
        return "proposal"
    return "application"


def sign_of(repeat_status: str, earlier_from_same_citizen: int = 0) -> str:
    """The classifier's sign from `routing.duplicates`' status. A primary appeal from a
    citizen who already wrote on other issues is "multiple" (неодноразове)."""
    if repeat_status in ("repeated", "duplicate", "mass"):
        return repeat_status
    return "multiple" if earlier_from_same_citizen > 0 else "primary"


def subject_of(signatories: int, anonymous: bool) -> str:
    if anonymous:
        return "anonymous"
    return "collective" if signatories > 1 else "individual"


def form_of(sender: str | None, cfg: RegistryConfig, web: bool = False) -> str:
    """The form of receipt: "web_form" for our reception's own submissions (their mark
    checked by routing.reception), "other_body" for mail from a public body's domain,
    otherwise "email"."""
    if web:
        return "web_form"
    domain = (sender or "").rpartition("@")[2].lower()
    for d in cfg.other_body_domains:
        d = d.lower().lstrip("@")
        if domain == d or domain.endswith("." + d):
            return "other_body"
    return "email"


def topic_code(label: str | None, cfg: RegistryConfig) -> str:
    if label is None:
        return cfg.default_topic_code
    return cfg.topic_codes.get(label, cfg.default_topic_code)


def characterise(
    *,
    text: str,
    subject: str,
    sender: str | None,
    repeat_status: str,
    signatories: int,
    anonymous: bool,
    privileged_category: str | None,
    topic_label: str | None,
    cfg: RegistryConfig,
    earlier_from_same_citizen: int = 0,
    web: bool = False,
) -> Characteristics:
    return Characteristics(
        form=form_of(sender, cfg, web),
        sign=sign_of(repeat_status, earlier_from_same_citizen),
        type=appeal_type(text, subject),
        subject=subject_of(signatories, anonymous),
        privileged_category=privileged_category,
        topic_code=topic_code(topic_label, cfg),
        sources={
            "form": "rule",
            "sign": "rule",
            "type": "rule",
            "subject": "rule",
            "privileged_category": "rule",
            "topic_code": "model" if topic_label is not None else "rule",
        },
    )


def parse_result(word: str) -> str | None:
    """The result code a staff member's `#result <word>` names, or None."""
    w = word.strip().lower().replace("’", "'").replace("ʼ", "'").replace("`", "'")
    return RESULT_WORDS.get(w)
