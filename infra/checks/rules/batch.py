"""Jobs and CronJobs as the API server validates them (batch/validation): schedule, time zone, pod template.

The API server parses ``spec.schedule`` with robfig/cron's standard parser: exactly five fields, or one of the
descriptors ``@yearly``/``@annually``/``@monthly``/``@weekly``/``@daily``/``@midnight``/``@hourly`` and
``@every <duration>``. The field count and descriptors are checked here as robfig does, and each field's
syntax and ranges by croniter (a well-kept cron parser) rather than a hand-written regex. ``spec.timeZone`` is
loaded from the IANA database (``zoneinfo``) as the API server loads it from Go's.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Iterator
from typing import Any

from croniter import croniter
from croniter.croniter import CroniterError

from infra.checks.model import DocSet, Hit, Severity, as_dict, dig, label_selector_matches
from infra.checks.registry import rule
from infra.checks.rules.upstream import invalid, is_int, not_supported, required, source
from infra.render import Document

UPSTREAM = source("batch")
DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
GO_DURATION = re.compile(r"([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+")
TIME_ZONE_PART = re.compile(r"[A-Za-z.\-_0-9+]{1,14}")
CRONJOB_NAME_MAX = 52  # the Job name gets an 11-character suffix and must stay a 63-character label


@functools.cache
def schedule_problem(schedule: str) -> str | None:
    """Why robfig/cron's ``ParseStandard`` rejects a schedule, worded as it words it, or None."""
    text = schedule.strip()
    if text.startswith("TZ=") or text.startswith("CRON_TZ="):
        text = text.split(None, 1)[1] if " " in text else ""
    if text.startswith("@"):
        if text in DESCRIPTORS:
            return None
        if text.startswith("@every "):
            duration = text.removeprefix("@every ").strip()
            return None if GO_DURATION.fullmatch(duration) else f"failed to parse duration {text}"
        return f"unrecognized descriptor: {text}"
    fields = text.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    try:
        croniter(text)
    except (CroniterError, ValueError, KeyError) as exc:
        return str(exc) or "not a valid cron expression"
    return None


@functools.cache
def time_zone_problem(zone: str) -> str | None:
    """Why ``validateTimeZone`` rejects a ``spec.timeZone``, or None."""
    if not zone:
        return "timeZone must be nil or non-empty string"
    for part in zone.split("/"):
        if part in (".", "..") or part.startswith("-") or not TIME_ZONE_PART.fullmatch(part):
            return f"unknown time zone {zone}"
    if zone.lower() == "local":
        return "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        if not zoneinfo.available_timezones():
            return None  # no time zone database on this machine: nothing to compare with
        return f"unknown time zone {zone}"
    return None


@rule(
    "CRON-SCHEDULE",
    Severity.ERROR,
    "a CronJob schedule has five valid cron fields (or a descriptor) and a valid IANA timeZone",
    upstream=UPSTREAM,
)
def cron_schedule(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.of_kind("CronJob"):
        spec = as_dict(doc.obj.get("spec"))
        schedule, zone = spec.get("schedule"), spec.get("timeZone")
        if isinstance(schedule, str):
            if not schedule:
                yield Hit(doc, required("spec.schedule"), 'write five cron fields, e.g. "*/5 * * * *"')
            elif problem := schedule_problem(schedule):
                yield Hit(
                    doc,
                    invalid("spec.schedule", schedule, problem),
                    'write five fields: minute hour day-of-month month day-of-week, e.g. "*/5 * * * *"',
                )
            elif "TZ" in schedule:
                yield Hit(
                    doc,
                    invalid(
                        "spec.schedule",
                        schedule,
                        "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
                    ),
                    "move the zone to spec.timeZone (e.g. timeZone: Europe/Berlin)",
                )
        if isinstance(zone, str) and (problem := time_zone_problem(zone)):
            yield Hit(
                doc,
                invalid("spec.timeZone", zone, problem),
                "use an IANA time zone name such as Etc/UTC or Europe/Berlin (`timedatectl list-timezones`)",
            )


def job_problems(spec: dict[str, Any], prefix: str, *, top_level: bool) -> Iterator[str]:
    """``validateJobSpec``/``ValidateJobSpec`` for a Job's spec (``spec``) or a CronJob's jobTemplate."""
    for key in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ):
        value = spec.get(key)
        if is_int(value) and value < 0:
            yield invalid(f"{prefix}.{key}", value, "must be greater than or equal to 0")
    if spec.get("completionMode") == "Indexed" and spec.get("completions") is None:
        yield required(f"{prefix}.completions", "when completion mode is Indexed")
    template = as_dict(spec.get("template"))
    policy = dig(template, "spec", "restartPolicy")
    path = f"{prefix}.template.spec.restartPolicy"
    if policy in (None, "", "Always"):
        yield required(path, 'valid values: "OnFailure", "Never"')
    elif policy not in ("OnFailure", "Never"):
        yield not_supported(path, policy, ["OnFailure", "Never"])
    elif spec.get("podFailurePolicy") is not None and policy != "Never":
        yield invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified')
    selector = spec.get("selector")
    if isinstance(selector, dict) and (selector.get("matchLabels") or selector.get("matchExpressions")):
        labels = as_dict(dig(template, "metadata", "labels"))
        if spec.get("manualSelector") is not True:
            if top_level:
                yield invalid(f"{prefix}.selector", selector, "`selector` not auto-generated")
        elif not label_selector_matches(selector, labels):
            yield invalid(
                f"{prefix}.template.metadata.labels", labels, "`selector` does not match template `labels`"
            )


JOB_HINTS = {
    "restartPolicy": "set the pod template's restartPolicy: OnFailure (retry in place) or Never (new pod)",
    "not auto-generated": "remove spec.selector and let the Job generate it (or set manualSelector: true)",
    "does not match": "make the selector a subset of the pod template labels",
    "52 characters": "shorten the name: each Job of the CronJob is <name>-<11 digits>, a 63-character label",
    "completion mode": "set spec.completions: each index 0..completions-1 runs once",
}


def _job_hint(message: str) -> str:
    return next((hint for key, hint in JOB_HINTS.items() if key in message), "write a non-negative integer")


def _specs(doc: Document) -> Iterator[tuple[dict[str, Any], str, bool]]:
    if doc.kind == "Job":
        yield as_dict(doc.obj.get("spec")), "spec", True
    else:
        yield as_dict(dig(doc.obj, "spec", "jobTemplate", "spec")), "spec.jobTemplate.spec", False


@rule(
    "JOB-SPEC",
    Severity.ERROR,
    "a Job's pods restart OnFailure or Never, its selector is generated, counts are non-negative",
    upstream=UPSTREAM,
)
def job_spec(docs: DocSet) -> Iterator[Hit]:
    for doc in docs.of_kind("Job", "CronJob"):
        if doc.kind == "CronJob" and len(doc.name) > CRONJOB_NAME_MAX:
            message = invalid(
                "metadata.name", doc.name, f"must be no more than {CRONJOB_NAME_MAX} characters"
            )
            yield Hit(doc, message, _job_hint(message))
        for spec, prefix, top_level in _specs(doc):
            for message in job_problems(spec, prefix, top_level=top_level):
                yield Hit(doc, message, _job_hint(message))
