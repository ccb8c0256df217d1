"""Loading and validating `settings.toml` into a frozen `Settings` tree.

One source of truth: the TOML file. The only values taken from the environment are secrets,
and the file names the variable that holds each (`*_env` keys). Unknown keys are errors
(pydantic `extra="forbid"`), and every error names the key path and the problem.
Relative paths are resolved against the directory of the settings file.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from gateway.errors import SettingsError
from routing.attachments import AttachmentLimits
from routing.characteristics import RegistryConfig
from routing.deadlines import DeadlineRules
from routing.reminders import ReminderPlan


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstanceSettings(Section):
    name: str = "Міська рада"
    name_en: str = "City Council"
    admin_email: str = "admin@council.example"
    default_language: Literal["uk", "en"] = "uk"


class PathSettings(Section):
    var_dir: Path = Path("var")
    templates: Path = Path("templates")
    template_overrides: Path | None = None


class DatabaseSettings(Section):
    url: str = ""  # empty: sqlite:///<var_dir>/appeals.db


class SmtpServerSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(2525, ge=0, le=65535)
    hostname: str = "appeals.council.example"
    max_message_size: int = Field(25 * 1024 * 1024, ge=1024)
    max_batch: int = Field(64, ge=1, le=1000)
    # RFC 5321 §4.5.3.1.8: a server must take at least 100 recipients of one message.
    max_recipients: int = Field(100, ge=1)
    max_connections: int = Field(100, ge=1)
    max_connections_per_client: int = Field(10, ge=1)
    connections_per_client_per_minute: int = Field(60, ge=1)
    messages_per_client_per_minute: int = Field(60, ge=1)
    command_timeout_seconds: float = Field(30, gt=0, le=600)
    data_timeout_seconds: float = Field(120, gt=0, le=3600)
    # Loopback clients are local processes (the MTA in front, `appeals` tools), not the
    # remote clients the per-client limits are for.
    trusted_clients: tuple[str, ...] = ("127.0.0.1", "::1")
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    require_starttls: bool = False

    @model_validator(mode="after")
    def _tls_pair(self) -> SmtpServerSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file: give both or neither")
        if self.require_starttls and self.tls_cert_file is None:
            raise ValueError("require_starttls: needs tls_cert_file and tls_key_file")
        return self


class DkimSettings(Section):
    """[outbound.dkim]: signing what the gateway sends (RFC 6376)."""

    selector: str = ""
    domain: str = ""
    key_file: Path | None = None

    @model_validator(mode="after")
    def _complete(self) -> DkimSettings:
        if self.key_file is not None and not (self.selector and self.domain):
            raise ValueError("selector and domain: needed with key_file")
        return self


class OutboundSettings(Section):
    relay_host: str = ""  # empty: write .eml files to outbox_dir instead of sending
    relay_port: int = 587
    starttls: bool = True
    username: str = ""
    password_env: str = "APPEALS_RELAY_PASSWORD"
    from_address: str = "appeals@council.example"
    from_name: str = "Звернення громадян"
    reply_domain: str = "reply.council.example"
    reply_local: str = "reply"
    plus_delimiter: str = "+"
    message_id_domain: str = "appeals.council.example"
    token_secret_env: str = "APPEALS_TOKEN_KEY"
    # Read when that variable is not set: where scripts/run keeps the key it makes for the
    # embedded default, so `appeals ...` commands work on that install as they are.
    token_key_file: Path | None = None  # default <var_dir>/token.key
    outbox_dir: Path | None = None
    retry_for_hours: float = Field(48, gt=0)
    first_retry_seconds: int = Field(60, ge=1)
    max_per_recipient_per_day: int = Field(20, ge=1)
    dkim: DkimSettings = DkimSettings()

    @model_validator(mode="after")
    def _dkim_aligned(self) -> OutboundSettings:
        # DMARC (RFC 7489 §3.1.1, relaxed alignment): the signing domain must be the From
        # domain or a parent of it, or the signature proves nothing to receivers.
        d = self.dkim.domain.lower()
        domain = self.from_address.rpartition("@")[2].lower()
        if self.dkim.key_file is not None and not (domain == d or domain.endswith("." + d)):
            raise ValueError(
                f"dkim.domain: {self.dkim.domain} is not the domain of from_address "
                f"({domain}) or a parent of it; DMARC alignment would fail"
            )
        return self

    @field_validator("from_name")
    @classmethod
    def _one_encoded_word(cls, v: str) -> str:
        # Sent as one RFC 2047 encoded word (at most 75 characters): 40 bytes of UTF-8
        # become 56 characters of base64 plus 12 of framing.
        if len(v.encode()) > 40:
            raise ValueError("too long: at most 40 bytes of UTF-8 (about 20 Cyrillic letters)")
        return v


class RegistrationSettings(Section):
    number_format: str = "{series}-{year}-{seq:06d}"
    appeal_series: str = "A"
    info_request_series: str = "I"

    @field_validator("number_format")
    @classmethod
    def _format_has_seq(cls, v: str) -> str:
        try:
            sample = v.format(series="A", year=2026, seq=1)
        except (KeyError, ValueError, IndexError) as exc:
            raise ValueError(f"bad format ({exc}); fields: series, year, seq") from exc
        if "{seq" not in v or "{year" not in v:
            raise ValueError("must contain {seq} and {year} so numbers are unique per year")
        if sample == v.format(series="A", year=2026, seq=2):
            raise ValueError("seq must change the number")
        return v


class DepartmentSettings(Section):
    code: str
    name: str
    email: str
    intake_addresses: tuple[str, ...] = ()
    staff_addresses: tuple[str, ...] = ()
    staff_domains: tuple[str, ...] = ()
    head_email: str | None = None
    triage: bool = False
    digest: bool = False


class RoutingSettings(Section):
    triage_department: str = "triage"
    min_confidence: float = Field(0.45, ge=0, le=1)
    topics: Mapping[str, str] = Field(default_factory=dict)
    info_request_addresses: tuple[str, ...] = ()
    general_addresses: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    # The council's street register (CSV: street, kind, aliases, district, from_house,
    # to_house, parity); relative to the settings file. None: no register.
    street_register: Path | None = None
    min_district_confidence: float = Field(0.5, ge=0, le=1)


class ClassifierSettings(Section):
    model_dir: Path | None = None  # default <var_dir>/models
    top_k: int = Field(3, ge=1, le=20)
    train_on_first_run: bool = True


class ScreeningSettings(Section):
    spam_flag_header: str = "X-Spam-Flag"
    spam_score_header: str = "X-Spam-Status"
    spam_threshold: float = 5.0
    anonymous_policy: Literal["consider", "not_considered"] = "not_considered"
    repeated_policy: Literal["consider", "not_considered"] = "consider"
    mass_threshold: int = Field(5, ge=2)
    duplicate_window_days: int = Field(30, ge=1)
    incomplete_policy: Literal["return", "consider"] = "return"


@dataclass(frozen=True)
class ReminderSettings(ReminderPlan):
    """[reminders]: the reminder plan itself, and how often the ticker looks for due steps."""

    tick_seconds: int = 60

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.tick_seconds < 1:
            raise ValueError("tick_seconds: must be >= 1")


class ReplySettings(Section):
    relay: Literal["auto", "review"] = "auto"


class ImapMailboxSettings(Section):
    name: str
    host: str
    port: int = 993
    tls: bool = True
    starttls: bool = False
    username: str
    password_env: str
    folder: str = "INBOX"
    after: Literal["move", "flag"] = "flag"
    move_to: str = "Processed"
    flag: str = "$AppealGateway"
    poll_seconds: int = Field(60, ge=1)
    idle: bool = True


class ImapSettings(Section):
    mailboxes: tuple[ImapMailboxSettings, ...] = ()


class WorkerSettings(Section):
    max_attempts: int = Field(3, ge=1)
    lease_seconds: int = Field(300, ge=5)
    batch: int = Field(20, ge=1)
    idle_sleep_seconds: float = Field(0.5, gt=0)


class RunSettings(Section):
    # How `appeals run` starts its roles: "processes", each role group in a process of its
    # own under a supervisor (the worker no longer shares an interpreter, and its lock, with
    # the listener); "threads", everything in one process as threads (small installs, tests).
    mode: Literal["processes", "threads"] = "processes"
    # Worker processes in "processes" mode; 0 = one per CPU core.
    workers: int = Field(0, ge=0, le=256)
    # A child that keeps dying is restarted after a pause that doubles up to this, seconds.
    max_restart_delay_seconds: float = Field(30.0, gt=0)

    def worker_count(self) -> int:
        import os

        return self.workers or os.cpu_count() or 1


class AlertSettings(Section):
    # At most one digest of held and failed mail to instance.admin_email per this many
    # minutes; it lists what is new since the last one, and nothing is sent when nothing is.
    digest_every_minutes: int = Field(60, ge=1)
    # Most items one digest lists; the rest wait for the next one.
    digest_max_items: int = Field(50, ge=1, le=1000)
    # A staff member whose answer was held hears why at most once per this many minutes.
    staff_every_minutes: int = Field(60, ge=1)
    # The council's own mail domains: only senders there are told that their answer was
    # held (never backscatter to outside senders). Empty: derived from the departments'
    # addresses and staff domains and the gateway's From (see `own_domains`).
    own_domains: tuple[str, ...] = ()


# Public mail services: a department whose mailbox is on one of them does not make the
# service "ours" (derived own domains would then send held-answer letters to anyone there).
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "ukr.net",
        "i.ua",
        "meta.ua",
        "bigmir.net",
        "email.ua",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "mail.ru",
        "yandex.ru",
        "yandex.ua",
        "proton.me",
        "protonmail.com",
    }
)


class LimitsSettings(Section):
    """Per-message work budgets of the worker (gateway/intake/budget.py)."""

    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(256 * 1024, ge=1024)
    max_mime_parts: int = Field(500, ge=1)
    max_mime_depth: int = Field(20, ge=1)
    message_cpu_seconds: float = Field(20.0, gt=0)
    memory_mb: int = Field(1024, ge=16)


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class PreviousTokenKey(Section):
    """A reply-token key from before the last rotation: its value is in the environment
    variable `secret_env`; addresses it made verify until `expires` (then `expired-token`)."""

    secret_env: str
    expires: datetime

    @field_validator("expires")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        # TOML local date-times have no zone: they are read as UTC, so a rotation's grace
        # period means the same on every host.
        return v if v.tzinfo is not None else v.replace(tzinfo=UTC)


class TrustSettings(Section):
    """Who speaks for a department (docs/security.md)."""

    # "require-verified": envelope agreement and a passing DKIM signature or a trusted
    # Authentication-Results; "envelope": envelope agreement and no failing signal (works
    # on one host with no DNS); "allow-unverified": From alone (migration only).
    department_mail: Literal["require-verified", "envelope", "allow-unverified"] = "envelope"
    # authserv-ids of the MTAs whose Authentication-Results headers are believed (RFC 8601).
    trusted_authserv_ids: tuple[str, ...] = ()
    # Verify DKIM signatures of department mail ourselves (DNS lookups of the keys).
    dkim: bool = True
    dkim_dns_timeout: float = Field(5.0, gt=0, le=30)
    # New appeals from one address within an hour after which the next is held as a mail
    # loop ("sender-burst"), whatever the daily cap of automatic letters; 0 = off.
    max_new_appeals_per_hour: int = Field(10, ge=0)
    # Keys that signed reply addresses before a rotation, with the end of their grace.
    previous_token_keys: tuple[PreviousTokenKey, ...] = ()


class RetentionSettings(Section):
    """[retention]: days each kind of personal data is kept (routing.retention)."""

    # `raw_days` is the key's earlier name, still read.
    raw_mail_days: int = Field(
        1095, ge=1, validation_alias=AliasChoices("raw_mail_days", "raw_days")
    )
    attachments_days: int = Field(1095, ge=1)
    personal_fields_days: int = Field(1825, ge=1)


class WebSettings(Section):
    """The admin web console (gateway/web): where it listens and how logins behave."""

    # Serve the console from `appeals run` (and `appeals web`). bool.
    enabled: bool = False
    # host:port; loopback by default: put a TLS-terminating proxy in front for anything else.
    listen: str = "127.0.0.1:8025"
    # A session ends after this long without a request, and in any case after max_hours.
    idle_minutes: int = Field(30, ge=1)
    max_hours: int = Field(12, ge=1)
    # Wrong passwords in a row for one account before it is throttled, and for how long.
    max_failed_logins: int = Field(5, ge=1)
    throttle_minutes: int = Field(15, ge=1)
    # Mark the session cookie Secure (only sent over HTTPS): set behind a TLS proxy.
    secure_cookies: bool = False
    # Rows per page of the registry and the other lists.
    page_size: int = Field(50, ge=5, le=1000)
    # Language of the console's pages: "uk" or "en".
    language: Literal["uk", "en"] = "uk"

    @field_validator("listen")
    @classmethod
    def _host_port(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"{v!r} is not host:port")
        return v

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class ReceptionSettings(Section):
    """[reception]: the citizens' web form and status page (gateway/web/reception.py),
    public pages served by the same web process as the console."""

    # Serve the form (/reception) and the status pages beside the console. bool.
    enabled: bool = True
    # Serve the REST API (/api/v1, tokens: `appeals api-token add`) there too. bool.
    api: bool = True
    # The address the public reaches the web process at ("https://council.example/"):
    # with it every acknowledgement carries the status page's link. "" = no link.
    public_url: str = ""
    # Submissions one client address may make per hour (and per minute: bursts). 0 = off.
    per_client_per_hour: int = Field(10, ge=0)
    per_client_per_minute: int = Field(3, ge=0)
    # A form sent back sooner than this after it was shown was filled by a program.
    min_fill_seconds: int = Field(3, ge=0)
    # The text and the files a form may carry (the files also within [attachments]).
    max_text_chars: int = Field(20000, ge=100)
    max_files: int = Field(5, ge=0, le=20)
    # Where appeals from the form are addressed (for the registry's routing by address);
    # "" = the first of [routing] general_addresses, or the first department's mailbox.
    appeal_address: str = ""
    info_request_address: str = ""

    @field_validator("public_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("https://", "http://")):
            raise ValueError(f"{v!r} is not an http(s) URL")
        return v.rstrip("/")


class WebhookSettings(Section):
    """[webhooks]: delivering the appeals' events to registered URLs
    (gateway/outbound/webhooks.py; `appeals webhook add URL`)."""

    # Seconds one POST may take.
    timeout_seconds: float = Field(10.0, gt=0, le=120)
    # Retries back off from this, doubling, up to max_retry_seconds; after max_attempts
    # the event is marked failed.
    first_retry_seconds: float = Field(30.0, gt=0)
    max_retry_seconds: float = Field(3600.0, gt=0)
    max_attempts: int = Field(12, ge=1)
    # How often the sender looks for appeals that became overdue.
    overdue_scan_seconds: float = Field(300.0, gt=0)


class Settings(Section):
    instance: InstanceSettings = InstanceSettings()
    paths: PathSettings = PathSettings()
    database: DatabaseSettings = DatabaseSettings()
    smtp_server: SmtpServerSettings = SmtpServerSettings()
    outbound: OutboundSettings = OutboundSettings()
    registration: RegistrationSettings = RegistrationSettings()
    # Validated straight into routing's own rules: one declaration of each field.
    deadlines: DeadlineRules = DeadlineRules()
    departments: tuple[DepartmentSettings, ...] = ()
    routing: RoutingSettings = RoutingSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    screening: ScreeningSettings = ScreeningSettings()
    attachments: AttachmentLimits = AttachmentLimits()
    reminders: ReminderSettings = ReminderSettings()
    replies: ReplySettings = ReplySettings()
    imap: ImapSettings = ImapSettings()
    worker: WorkerSettings = WorkerSettings()
    run: RunSettings = RunSettings()
    alerts: AlertSettings = AlertSettings()
    limits: LimitsSettings = LimitsSettings()
    logging: LoggingSettings = LoggingSettings()
    retention: RetentionSettings = RetentionSettings()
    trust: TrustSettings = TrustSettings()
    # Validated straight into routing's own value, like [deadlines].
    registry: RegistryConfig = RegistryConfig()
    web: WebSettings = WebSettings()
    reception: ReceptionSettings = ReceptionSettings()
    webhooks: WebhookSettings = WebhookSettings()
    # Where the file was loaded from; relative paths resolve against it.
    base_dir: Path = Path(".")
    secrets: Mapping[str, str] = Field(default_factory=dict, repr=False)

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        codes = [d.code for d in self.departments]
        dupes = {c for c in codes if codes.count(c) > 1}
        if dupes:
            raise ValueError(f"departments: duplicate code(s) {sorted(dupes)}")
        if self.departments:
            if self.routing.triage_department not in codes:
                raise ValueError(
                    f"routing.triage_department: {self.routing.triage_department!r} "
                    "is not a configured department"
                )
            for topic, code in self.routing.topics.items():
                if code not in codes:
                    raise ValueError(f"routing.topics.{topic}: unknown department {code!r}")
        register = self.street_register
        if register is not None and not register.is_file():
            raise ValueError(f"routing.street_register: no file {register}")
        addrs: list[str] = []
        for d in self.departments:
            addrs += [a.lower() for a in d.intake_addresses]
        if len(addrs) != len(set(addrs)):
            raise ValueError("departments: an intake address is used by two departments")
        # A department's mailbox must not be one of ours: the forward would come back to
        # the gateway (behind Postfix, or when the listener is the council's MX), be
        # recognised as our own mail and discarded, and the department would never see it.
        ours = self.accepted_recipients()
        for d in self.departments:
            mailbox = d.email.lower()
            if mailbox in ours or mailbox.endswith("@" + self.outbound.reply_domain.lower()):
                raise ValueError(
                    f"departments.{d.code}.email: {d.email} is an address the gateway itself "
                    "receives; forwards to it would come back. Give the department its own "
                    f"mailbox (e.g. {d.code}-staff@...) and keep the address in intake_addresses"
                )
        return self

    # -- derived values ---------------------------------------------------------------
    def path(self, p: Path) -> Path:
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def var_dir(self) -> Path:
        return self.path(self.paths.var_dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.var_dir / 'appeals.db'}"

    @property
    def model_dir(self) -> Path:
        return (
            self.path(self.classifier.model_dir)
            if self.classifier.model_dir
            else self.var_dir / "models"
        )

    @property
    def outbox_dir(self) -> Path:
        d = self.outbound.outbox_dir
        return self.path(d) if d else self.var_dir / "outbox"

    @property
    def street_register(self) -> Path | None:
        p = self.routing.street_register
        return self.path(p) if p else None

    @property
    def token_key_path(self) -> Path:
        f = self.outbound.token_key_file
        return self.path(f) if f else self.var_dir / "token.key"

    @property
    def raw_dir(self) -> Path:
        return self.var_dir / "raw"

    @property
    def template_dirs(self) -> list[Path]:
        dirs = []
        if self.paths.template_overrides:
            dirs.append(self.path(self.paths.template_overrides))
        dirs.append(self.path(self.paths.templates))
        return dirs

    def secret(self, env_name: str) -> str | None:
        return self.secrets.get(env_name)

    def own_domains(self) -> frozenset[str]:
        """The council's own mail domains (a subdomain of one counts too): `alerts.own_domains`,
        or the domains of the departments' mailboxes, staff, heads and intake addresses,
        their staff domains and the gateway's From, less public mail services."""
        if self.alerts.own_domains:
            return frozenset(d.lower().lstrip("@") for d in self.alerts.own_domains)
        addresses = [self.outbound.from_address]
        for d in self.departments:
            addresses += [d.email, *d.staff_addresses, *d.intake_addresses]
            if d.head_email:
                addresses.append(d.head_email)
        found = {a.rsplit("@", 1)[-1].lower() for a in addresses if "@" in a}
        found |= {dom.lower() for d in self.departments for dom in d.staff_domains}
        return frozenset(found - PUBLIC_MAIL_DOMAINS)

    def accepted_recipients(self) -> set[str]:
        """Every address the SMTP listener takes mail for (apart from the reply domain)."""
        out = {a.lower() for d in self.departments for a in d.intake_addresses}
        out |= {a.lower() for a in self.routing.info_request_addresses}
        out |= {a.lower() for a in self.routing.general_addresses}
        return out


SECRET_KEYS = ("password_env", "token_secret_env", "secret_env")


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate a settings file. Raises `SettingsError` naming key and problem."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get("APPEALS_SETTINGS") or "settings.toml"
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise SettingsError(f"settings file not found: {p}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{p}: not valid TOML: {exc}") from exc
    return settings_from_dict(data, base_dir=p.resolve().parent, env=env, origin=str(p))


def settings_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: Path,
    env: Mapping[str, str] | None = None,
    origin: str = "<dict>",
) -> Settings:
    env = os.environ if env is None else env
    for reserved in ("base_dir", "secrets"):
        if reserved in data:
            raise SettingsError(f"{origin}: {reserved}: not a settings key")
    try:
        probe = Settings.model_validate({**data, "base_dir": base_dir})
    except ValidationError as exc:
        raise SettingsError(_describe(origin, exc)) from exc
    secrets = {name: env[name] for name in _secret_env_names(probe) if name in env}
    token_env = probe.outbound.token_secret_env
    if token_env not in secrets:
        key = _key_from_file(probe.token_key_path)
        if key:
            secrets[token_env] = key
    return probe.model_copy(update={"secrets": secrets})


def _key_from_file(path: Path) -> str | None:
    """The token key kept in a file (one line, as scripts/run writes it), or None."""
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return None
    return text.strip() or None


def _secret_env_names(s: Settings) -> list[str]:
    names = [s.outbound.password_env, s.outbound.token_secret_env]
    names += [k.secret_env for k in s.trust.previous_token_keys]
    names += [m.password_env for m in s.imap.mailboxes]
    return names


def missing_secrets(s: Settings) -> list[str]:
    """Environment variables that must be set for this configuration and are not."""
    need = [s.outbound.token_secret_env]
    need += [k.secret_env for k in s.trust.previous_token_keys]
    if s.outbound.relay_host and s.outbound.username:
        need.append(s.outbound.password_env)
    need += [m.password_env for m in s.imap.mailboxes]
    return [n for n in need if n not in s.secrets]


def _describe(origin: str, exc: ValidationError) -> str:
    lines = [f"{origin}: {exc.error_count()} problem(s) in settings"]
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            msg = "unknown key"
        # Sections that validate into routing's dataclasses report a field's problem as
        # "<field>: <problem>" (their checks run on the whole object): name the key.
        named = re.match(r"Value error, ([a-z_]+): (.*)", msg, re.DOTALL)
        if err["type"] == "value_error" and named:
            loc, msg = f"{loc}.{named.group(1)}", named.group(2)
        lines.append(f"  {loc}: {msg}")
    return "\n".join(lines)


def redacted(s: Settings) -> dict[str, Any]:
    """The effective settings as plain data, with secret values never included."""
    data = s.model_dump(mode="json", exclude={"secrets"})
    data["secrets_present"] = {name: (name in s.secrets) for name in _secret_env_names(s)}
    return data
