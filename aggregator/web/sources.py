"""The sources page: every source's health in plain words; for admins disable, enable, fetch now, re-check a route, add a site."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from aggregator.ingest.switch import disabled_reasons, set_source_disabled
from aggregator.review.health import SourceHealth, source_health
from aggregator.review.lifecycle import record_audit
from aggregator.web.app import deps
from aggregator.web.security import admin_required, require_login, safe_next

logger = logging.getLogger(__name__)
bp = Blueprint("sources", __name__, url_prefix="/editor/sources")
bp.before_request(require_login)
FETCH_NOW_DEADLINE = 20.0  # seconds: "fetch now" runs while the admin waits for the page

# (pattern in the stored error, what it means for an editor); first match wins.
EXPLANATIONS: tuple[tuple[str, str], ...] = (
    (r"^disabled by", "An admin turned this source off. Nothing is fetched until it is turned on again."),
    (
        r"internal error",
        "Something went wrong inside the aggregator itself, not at the partner's site. "
        "Please pass the technical details to whoever looks after the aggregator.",
    ),
    (
        r"layout drift|layout seems to have changed",
        "The partner's page looks different from before and no "
        "resources were found on it. The page settings need updating.",
    ),
    (r"410", "The partner has removed this address for good. Find the new address and update the source."),
    (r"HTTP 404", "The address was not found (404). The partner may have moved the page."),
    (r"HTTP 40[13]", "The partner's site refused to let us in (it may need a login or block robots)."),
    (r"HTTP (429|503)|retry after", "The partner's site asked us to slow down. We will try again later, as it asked."),
    (r"HTTP 5\d\d", "The partner's site had a problem of its own. This usually clears up by itself."),
    (
        r"could not be reached|DNS failure|connection refused|TLS error|network unreachable|connection reset|"
        r"connection failed|cannot resolve|no IPv4|cannot connect|ConnectError",
        "We could not reach the site (the technical details say how): the address may be wrong, the site may "
        "be down, or this machine may be offline. It will be tried again later.",
    ),
    (r"robots\.txt disallows", "The partner's site asks robots not to read this page. Ask them to allow it."),
    (r"timed out|deadline|timeout", "The partner's site took too long to answer. It will be tried again later."),
    (r"non-public address|scheme", "The address points somewhere we are not allowed to fetch from."),
    (r"redirect", "The site keeps sending us to other addresses. Open it in a browser and use the final one."),
    (r"over the cap", "The page or feed is far bigger than expected, so it was not read."),
    (
        r"adapter|parse|not valid|no title",
        "The address did not give what we expected (for example a feed). Check the address and the kind of source.",
    ),
)


@dataclass(frozen=True, slots=True)
class SourceRow:
    health: SourceHealth
    name: str
    url: str
    explanation: str  # plain words for the problem; "" when all is well
    disabled: bool  # turned off by an admin here (not in sources.yaml)


def explain_problem(problem: str) -> str:
    if not problem:
        return ""
    for pattern, explanation in EXPLANATIONS:
        if re.search(pattern, problem, re.IGNORECASE):
            return explanation
    return "The last fetch did not work. The technical details below say why."


@bp.get("/")
def index():
    context = deps()
    rows = []
    with context.engine.connect() as conn:
        disabled = disabled_reasons(conn)
    for health in source_health(context.engine, context.sources):
        config = next(s for s in context.sources if s.id == health.source_id)
        rows.append(
            SourceRow(
                health,
                config.name,
                config.homepage or config.url,
                explain_problem(health.problem),
                bool(disabled.get(health.source_id)),
            )
        )
    return render_template("web/sources.html", rows=rows)


def _config(source_id: str):
    config = next((s for s in deps().sources if s.id == source_id), None)
    if config is None:
        abort(404)
    return config


@bp.post("/<source_id>/disable")
@admin_required
def disable(source_id: str):
    now = deps().clock()
    reason = f"disabled by {g.user.display_name} on {now.astimezone(deps().local_zone):%d %b %Y}"
    name = _set_disabled(source_id, reason, now)
    flash(f"{name} is turned off: it will not be fetched until it is turned on again.", "success")
    return redirect(url_for("sources.index"), 303)


@bp.post("/<source_id>/enable")
@admin_required
def enable(source_id: str):
    name = _set_disabled(source_id, None, deps().clock())
    flash(f"{name} is turned on again and will be fetched at the next run.", "success")
    return redirect(url_for("sources.index"), 303)


def _set_disabled(source_id: str, reason: str | None, now: datetime) -> str:
    """Turn a source off (with `reason`) or on again (None), audited; return its name."""
    config = _config(source_id)
    with deps().engine.begin() as conn:
        set_source_disabled(conn, config, reason, user_id=g.user.id, now=now)
    return config.name


@bp.post("/<source_id>/fetch")
@admin_required
def fetch_now(source_id: str):
    """Fetch one source now, in this request, with a short deadline; then label what is new."""
    from aggregator.classify.label import classify_resources
    from aggregator.ingest.run import run_fetch
    from aggregator.jobs.monthly import build_classifier, source_hints

    context = deps()
    config = _config(source_id)
    if not config.enabled:
        flash(f"{config.name} is switched off in sources.yaml, so it cannot be fetched.", "error")
        return _back()
    settings = _quick_settings()
    with _route_fetcher() as fetcher:
        (outcome,) = run_fetch(settings, [config], context.engine, fetcher, clock=context.clock, retry_now=True)
    if outcome.outcome == "new-data" and outcome.result.new + outcome.result.updated:
        hints = source_hints(context.sources)
        classify_resources(context.engine, build_classifier(settings, context.engine, hints), hints, context.clock())
    with context.engine.begin() as conn:
        record_audit(
            conn,
            user_id=g.user.id,
            action="source-fetch",
            subject_type="source",
            subject_id=source_id,
            now=context.clock(),
            detail={"outcome": outcome.outcome, "new": outcome.result.new},
        )
    if outcome.outcome == "failed":
        flash(f"Fetching {config.name} did not work. {explain_problem(outcome.error or '')}", "error")
    elif outcome.outcome == "skipped":
        flash(f"{config.name} was not fetched: {outcome.error}.", "info")
    elif outcome.outcome == "not-modified":
        flash(f"Fetched {config.name}: nothing has changed since the last fetch.", "success")
    else:
        result = outcome.result
        flash(
            f"Fetched {config.name}: {result.new} new, {result.updated} updated, {result.unchanged} unchanged.",
            "success",
        )
    return _back()


def _back():
    """Back to the page the form was on: the sources list, or one source's page."""
    return redirect(safe_next(request.form.get("next"), url_for("sources.index")), 303)


def _quick_settings():
    """The settings with short fetch limits: an admin waits for the page while they apply."""
    settings = deps().settings
    limits = settings.fetch.model_copy(
        update={
            "total_deadline": min(settings.fetch.total_deadline, FETCH_NOW_DEADLINE),
            "connect_timeout": min(settings.fetch.connect_timeout, 5.0),
            "read_timeout": min(settings.fetch.read_timeout, 10.0),
        }
    )
    return settings.model_copy(update={"fetch": limits})


def _route_fetcher():
    """A fetcher with the short limits (the injected factory in tests, else a real Fetcher)."""
    from aggregator.db.robots_store import DatabaseRobotsStore
    from aggregator.ingest.fetch import Fetcher

    factory = deps().fetcher_factory or (lambda s: Fetcher(s, robots_store=DatabaseRobotsStore(deps().engine)))
    return factory(_quick_settings())


@bp.post("/<source_id>/doctor")
@admin_required
def doctor(source_id: str):
    """Re-check one source's route on the live site (a richer route, a moved feed, selectors that stopped matching)."""
    from aggregator.ingest.routes import doctor_source

    config = _config(source_id)
    others = [s for s in deps().sources if s.id != source_id]
    with _route_fetcher() as fetcher:
        findings = doctor_source(config, fetcher, others=others)
    with deps().engine.begin() as conn:
        record_audit(
            conn,
            user_id=g.user.id,
            action="source-check",
            subject_type="source",
            subject_id=source_id,
            now=deps().clock(),
            detail={"findings": len(findings)},
        )
    if not findings:
        flash(f"{config.name}: its route is the richest that works.", "success")
    for finding in findings:
        flash(f"{config.name}: {finding.problem}. Fix: {finding.fix}", "info")
    return _back()


@bp.get("/add")
@admin_required
def add_form():
    """Recognise a site's platform from one of its pages and show its routes, richest first, with samples."""
    from aggregator.config.source_options import check_http_url
    from aggregator.errors import AggregatorError
    from aggregator.ingest.routes import discover_routes, suggest_id

    url = (request.args.get("url") or "").strip()
    detection, samples, error, suggested = None, [], None, ""
    if url:
        try:
            check_http_url(url)
            with _route_fetcher() as fetcher:
                detection, samples = discover_routes(url, fetcher)
            suggested = suggest_id(detection, [s.id for s in deps().sources])
        except (ValueError, AggregatorError) as exc:
            error = str(exc)
    working = next((n for n, s in enumerate(samples) if s.error is None and s.count), None)
    return render_template(
        "web/source_add.html",
        url=url,
        detection=detection,
        samples=samples,
        error=error,
        suggested=suggested,
        working=working,
    )


@bp.post("/add")
@admin_required
def add():
    """Append the chosen route to sources.yaml (comments kept); it is fetched from the next run."""
    from aggregator.errors import AggregatorError
    from aggregator.ingest.routes import append_source, discover_routes, route_entry

    url, source_id = request.form.get("url", "").strip(), request.form.get("source_id", "").strip()
    try:
        chosen = int(request.form.get("route", ""))
        with _route_fetcher() as fetcher:
            detection, samples = discover_routes(url, fetcher)
        route = samples[chosen].route
        entry = route_entry(
            route,
            source_id=source_id,
            name=request.form.get("name", "").strip() or detection.title,
            homepage=detection.url,
        )
        append_source(deps().settings.sources_file, entry)
    except (ValueError, IndexError, AggregatorError) as exc:
        flash(f"The source was not added: {exc}", "error")
        return redirect(url_for("sources.add_form", url=url), 303)
    with deps().engine.begin() as conn:
        record_audit(
            conn,
            user_id=g.user.id,
            action="source-add",
            subject_type="source",
            subject_id=source_id,
            now=deps().clock(),
            detail={"url": route.url, "adapter": route.adapter},
        )
    flash(
        f"Added {source_id} ({route.kind}, {route.adapter}) to sources.yaml. It is fetched from the next run; "
        "restart the web app to see it on this page.",
        "success",
    )
    return redirect(url_for("sources.index"), 303)
