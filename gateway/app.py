"""The composition root: the one place that knows which concrete classes are used.

`build_app(settings)` wires the engine, stores, clock, classifier, renderer, transport and
pipeline dependencies into an `App`; commands and tests receive an `App` and nothing
reads global state. `prepare(app)` brings the database to the current schema, syncs the
departments from settings and trains the starter model on first run.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from classifier.context import Context
from classifier.types import ACTIVE_FILE, Prediction
from gateway.clock import SystemClock
from gateway.errors import SettingsError
from gateway.intake.ingest import Ingest
from gateway.outbound import webhooks
from gateway.outbound.notify import Notifier, OutboundConfig, Renderer
from gateway.outbound.transport import (
    DirectoryTransport,
    DkimSigner,
    MailTransport,
    SigningTransport,
    SmtpTransport,
)
from gateway.outbound.webhooks import WebhookConfig, WebhookSender
from gateway.rawstore import RawStore
from gateway.settings import Settings
from models import CalendarOverride, Department
from models.db import make_engine, make_session_factory
from models.migrate import is_current, upgrade
from routing.config import PipelineConfig, PipelineDeps, Policies
from routing.deadlines import DeadlineRules, WorkCalendar
from routing.departments import RoutingConfig
from routing.held_answers import AlertConfig
from routing.numbering import RegistrationConfig
from routing.ports import Clock
from routing.retention import RetentionRules
from routing.screening import ScreeningContext
from routing.streets import AddressResolver, load_register
from routing.tokens import PreviousKey, ReplyAddressCodec
from routing.trust import TrustConfig

if TYPE_CHECKING:
    # Imported where they are built: a read-only command never loads the pipeline.
    from gateway.outbound.outbox import OutboxSender
    from gateway.worker import Worker

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    clock: Clock
    engine: Engine
    sessions: sessionmaker[Session]
    rawstore: RawStore
    renderer: Renderer
    codec: ReplyAddressCodec
    transport: MailTransport
    outbound: OutboundConfig
    rules: DeadlineRules
    classifier: Any = None  # an object with .current() -> model with .predict(), or None
    wakeup_worker: threading.Event = field(default_factory=threading.Event)
    wakeup_sender: threading.Event = field(default_factory=threading.Event)

    # -- factories ----------------------------------------------------------------------
    def calendar(self) -> WorkCalendar:
        with self.sessions() as session:
            overrides = {o.day: o.working for o in session.scalars(select(CalendarOverride))}
        return WorkCalendar(self.rules, overrides)

    def ingest(self) -> Ingest:
        return Ingest(self.sessions, self.rawstore, self.clock, on_commit=self.wakeup_worker.set)

    def notifier(self, session: Session) -> Notifier:
        return Notifier(
            session, self.renderer, self.outbound, self.codec, self.rawstore, self.clock
        )

    def retention_rules(self) -> RetentionRules:
        r = self.settings.retention
        return RetentionRules(
            raw_mail_days=r.raw_mail_days,
            attachments_days=r.attachments_days,
            personal_fields_days=r.personal_fields_days,
        )

    def pipeline_config(self) -> PipelineConfig:
        s = self.settings
        intake = {a.lower(): d.code for d in s.departments for a in d.intake_addresses}
        # The public-information office: the department whose intake address is one of the
        # request addresses. Every request goes there, however it arrived.
        info_addresses = {a.lower() for a in s.routing.info_request_addresses}
        info_office = next(
            (
                d.code
                for d in s.departments
                if info_addresses & {a.lower() for a in d.intake_addresses}
            ),
            None,
        )
        # The gateway's own addresses: its From and the addresses only it reads. Department
        # mailboxes are people's mailboxes (staff answer from them), never "ours".
        staff = {d.email.lower() for d in s.departments}
        staff |= {
            a.lower() for d in s.departments for a in (*d.staff_addresses, *d.intake_addresses)
        }
        ours = {s.outbound.from_address.lower()}
        ours |= {
            a.lower() for a in (*s.routing.general_addresses, *s.routing.info_request_addresses)
        }
        ours -= staff
        # Intake addresses only receive: mail From one of them is a forgery or our own
        # echo, never a citizen's (T11). (A department's own mailbox is never one of them:
        # settings refuse that.)
        ours |= {a.lower() for d in s.departments for a in d.intake_addresses}
        ours -= {d.email.lower() for d in s.departments}
        ours -= {a.lower() for d in s.departments for a in d.staff_addresses}
        dept_domains = {d.email.rsplit("@", 1)[-1].lower() for d in s.departments}
        dept_domains |= {x.lower() for d in s.departments for x in d.staff_domains}
        our_domains = {s.outbound.reply_domain.lower(), s.outbound.message_id_domain.lower()}
        our_domains -= dept_domains
        t = s.trust
        return PipelineConfig(
            registration=RegistrationConfig(
                number_format=s.registration.number_format,
                appeal_series=s.registration.appeal_series,
                info_request_series=s.registration.info_request_series,
                info_request_addresses=frozenset(
                    a.lower() for a in s.routing.info_request_addresses
                ),
            ),
            routing=RoutingConfig(
                triage_code=s.routing.triage_department,
                min_confidence=s.routing.min_confidence,
                topics=dict(s.routing.topics),
                department_by_intake=intake,
                districts=tuple(s.routing.districts),
                info_request_code=info_office,
                resolver=self._resolver(),
                min_district_confidence=s.routing.min_district_confidence,
            ),
            screening=ScreeningContext(
                our_addresses=frozenset(ours),
                our_domains=frozenset(our_domains),
                loop_mark_valid=self.codec.is_loop_mark,
                message_id_domain=s.outbound.message_id_domain,
                spam_flag_header=s.screening.spam_flag_header,
                spam_score_header=s.screening.spam_score_header,
                spam_threshold=s.screening.spam_threshold,
                max_size=s.smtp_server.max_message_size,
            ),
            timezone=s.deadlines.timezone,
            policies=Policies(
                anonymous_policy=s.screening.anonymous_policy,
                repeated_policy=s.screening.repeated_policy,
                incomplete_policy=s.screening.incomplete_policy,
                mass_threshold=s.screening.mass_threshold,
                duplicate_window_days=s.screening.duplicate_window_days,
            ),
            registry=s.registry,
            instance={
                "name": s.instance.name,
                "name_en": s.instance.name_en,
                "admin_email": s.instance.admin_email,
            },
            departments=tuple((d.code, d.name) for d in s.departments),
            attachments=s.attachments,
            trust=TrustConfig(
                department_mail=t.department_mail,
                trusted_authserv_ids=frozenset(x.lower() for x in t.trusted_authserv_ids),
                dkim=t.dkim,
                dns=_dkim_dns(t.dkim_dns_timeout) if t.dkim else None,
                max_new_appeals_per_hour=t.max_new_appeals_per_hour,
            ),
            alerts=AlertConfig(
                own_domains=s.own_domains(),
                every=timedelta(minutes=s.alerts.staff_every_minutes),
            ),
        )

    def _resolver(self) -> AddressResolver | None:
        """The council's street register from settings, read when the pipeline is built
        (a malformed export fails there, not on the first letter)."""
        path = self.settings.street_register
        if path is None:
            return None
        districts = tuple(self.settings.routing.districts)
        return AddressResolver(load_register(path, districts), districts)

    def pipeline_deps(self) -> PipelineDeps:
        return PipelineDeps(
            clock=self.clock,
            config=self.pipeline_config(),
            calendar=self.calendar(),
            codec=self.codec,
            relay_mode=self.settings.replies.relay,
            classify=self.classify,
        )

    def classify(self, text: str, context: Context) -> Prediction | None:
        """The active model's prediction (reloaded when an admin promotes another one)."""
        model = self.classifier.current() if self.classifier is not None else None
        if model is None:
            return None
        top_k = self.settings.classifier.top_k
        return model.predict([text], top_k=top_k, contexts=[context])[0]

    def classify_text(self, text: str) -> tuple[bool, Prediction | None]:
        """The prediction from the text alone, when the active model reads nothing else:
        `(True, prediction)`; `(False, None)` for a model trained with context facts,
        which need the database (the worker then classifies inside its transaction)."""
        model = self.classifier.current() if self.classifier is not None else None
        if model is None:
            return True, None
        if getattr(model, "context_fields", ()):
            return False, None
        return True, model.predict([text], top_k=self.settings.classifier.top_k)[0]

    def load_model(self) -> None:
        """Load the active topic model now (a worker process does it at its start, not
        on the first letter, which would wait seconds for scikit-learn)."""
        if self.classifier is not None:
            self.classifier.current()

    def worker(self) -> Worker:
        from gateway.intake.budget import MessageLimits
        from gateway.worker import Worker

        w = self.settings.worker
        return Worker(
            self.sessions,
            self.ingest(),
            self.clock,
            self.pipeline_deps(),
            self.notifier,
            max_attempts=w.max_attempts,
            lease=timedelta(seconds=w.lease_seconds),
            limits=MessageLimits(**self.settings.limits.model_dump()),
            classify_text=self.classify_text,
        )

    def webhook_sender(self) -> WebhookSender:
        w = self.settings.webhooks
        return WebhookSender(
            self.sessions,
            self.clock,
            WebhookConfig(
                timeout_seconds=w.timeout_seconds,
                first_retry_seconds=w.first_retry_seconds,
                max_retry_seconds=w.max_retry_seconds,
                max_attempts=w.max_attempts,
                lease_seconds=float(self.settings.worker.lease_seconds),
                overdue_scan_seconds=w.overdue_scan_seconds,
                timezone=self.settings.deadlines.timezone,
            ),
        )

    def sender(self) -> OutboxSender:
        from gateway.outbound.outbox import DeliveryAlerts, OutboxSender
        from routing.views import viewer

        o = self.settings.outbound
        return OutboxSender(
            self.sessions,
            self.transport,
            self.clock,
            retry_for=timedelta(hours=o.retry_for_hours),
            first_retry=timedelta(seconds=o.first_retry_seconds),
            lease=timedelta(seconds=self.settings.worker.lease_seconds),
            alerts=DeliveryAlerts(
                admin_email=self.settings.instance.admin_email,
                notices=self.notifier,
                view=viewer(self.pipeline_config()),
            ),
        )


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    transport: MailTransport | None = None,
    classifier: Any = None,
    require_secrets: bool = True,
) -> App:
    s = settings
    key = s.secret(s.outbound.token_secret_env)
    if key is None:
        if require_secrets:
            raise SettingsError(
                f"environment variable {s.outbound.token_secret_env} (the reply-token key, "
                f"outbound.token_secret_env) is not set, and {s.token_key_path} holds no key"
            )
        key = "unset-key-for-read-only-commands"
    s.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(s.database_url)
    if transport is None:
        if s.outbound.relay_host:
            transport = SmtpTransport(
                s.outbound.relay_host,
                s.outbound.relay_port,
                starttls=s.outbound.starttls,
                username=s.outbound.username,
                password=s.secret(s.outbound.password_env),
                local_hostname=s.smtp_server.hostname,
            )
        else:
            transport = DirectoryTransport(s.outbox_dir)
    dkim_settings = s.outbound.dkim
    if dkim_settings.key_file is not None:
        transport = SigningTransport(
            transport,
            DkimSigner.from_file(
                dkim_settings.selector, dkim_settings.domain, s.path(dkim_settings.key_file)
            ),
        )
    if classifier is None:
        classifier = _classifier_loader(s)
    app = App(
        settings=s,
        clock=clock or SystemClock(),
        engine=engine,
        sessions=make_session_factory(engine),
        rawstore=RawStore(s.raw_dir),
        renderer=Renderer(s.template_dirs, s.instance.default_language),
        codec=ReplyAddressCodec(
            key=key.encode(),
            local=s.outbound.reply_local,
            delimiter=s.outbound.plus_delimiter,
            domain=s.outbound.reply_domain,
            previous=_previous_keys(s, require_secrets),
        ),
        transport=transport,
        outbound=OutboundConfig(
            from_address=s.outbound.from_address,
            from_name=s.outbound.from_name,
            message_id_domain=s.outbound.message_id_domain,
            reply_domain=s.outbound.reply_domain,
            plus_delimiter=s.outbound.plus_delimiter,
            max_per_recipient_per_day=s.outbound.max_per_recipient_per_day,
            status_base_url=s.reception.public_url if s.reception.enabled else "",
        ),
        rules=s.deadlines,
        classifier=classifier,
    )
    # Webhook events are queued in the transaction of the change that causes them.
    webhooks.install(app.sessions, app.clock)
    return app


def _previous_keys(s: Settings, require_secrets: bool) -> tuple[PreviousKey, ...]:
    """Reply-token keys from before a rotation, still accepted until their expiry."""
    out = []
    for k in s.trust.previous_token_keys:
        value = s.secret(k.secret_env)
        if value is None:
            if require_secrets:
                raise SettingsError(
                    f"environment variable {k.secret_env} (a previous reply-token key, "
                    "trust.previous_token_keys) is not set"
                )
            continue
        out.append(PreviousKey(value.encode(), k.expires))
    return tuple(out)


def _dkim_dns(timeout: float) -> Any:
    """dkimpy's own TXT lookup (dnspython), with the settings' timeout: the one place the
    pipeline reaches the network, and only for department mail that carries a signature."""
    from dkim.dnsplug import get_txt

    def lookup(name: bytes | str, timeout_: float = timeout, **_: Any) -> bytes | None:
        return get_txt(name, timeout=min(timeout_, timeout))

    return lookup


class LazyModelLoader:
    """The active-model loader, built on first use. Importing scikit-learn and skops costs
    about a second and 100 MB, which commands that never classify (status, show, inject)
    should not pay. The loader re-reads the ACTIVE pointer every few seconds: a promoted
    model is picked up by a running gateway without a restart."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = model_dir
        self._loader: Any = None

    def loader(self) -> Any:
        if self._loader is None:
            from classifier.registry import ActiveModelLoader, ModelRegistry

            self._loader = ActiveModelLoader(ModelRegistry(self.model_dir))
        return self._loader

    def current(self) -> Any:
        return self.loader().current()


def _classifier_loader(s: Settings) -> LazyModelLoader:
    return LazyModelLoader(s.model_dir)


def prepare(app: App) -> None:
    """Schema to head, departments synced from settings, starter model on first run."""
    if not is_current(app.engine):
        upgrade(app.engine)
    sync_departments(app)
    active = app.settings.model_dir / ACTIVE_FILE
    if app.settings.classifier.train_on_first_run and not active.exists():
        from classifier.starter import ensure_starter_model

        version = ensure_starter_model(app.settings.model_dir, now=app.clock.now)
        if version:
            log.info("trained the starter topic model %s", version)


def sync_departments(app: App) -> None:
    with app.sessions.begin() as session:
        existing = {d.code: d for d in session.scalars(select(Department))}
        for d in app.settings.departments:
            row = existing.get(d.code) or Department(code=d.code)
            row.name = d.name
            row.email = d.email
            row.intake_addresses = [a.lower() for a in d.intake_addresses]
            row.staff_addresses = [a.lower() for a in d.staff_addresses]
            row.staff_domains = [a.lower() for a in d.staff_domains]
            row.head_email = d.head_email
            row.is_triage = d.triage
            row.digest = d.digest
            row.active = True
            session.add(row)
        configured = {d.code for d in app.settings.departments}
        for code, row in existing.items():
            if code not in configured:
                row.active = False  # kept: appeals still refer to it
