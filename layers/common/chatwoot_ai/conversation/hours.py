"""Business hours in the tenant's `company.timezone`: is the team there now, and when is it back.

Out of hours the bot still answers what it can; only a handoff changes: the customer hears when the team is back (the
next opening as HH:MM, with the day when it is not today) and the agents' note says the message came in out of hours.
A period is [start, end): at 17:59 a shop open until 18:00 is open, at 18:00 it is closed. A holiday closes the whole
day. Unknown time zones fall back to America/Sao_Paulo (the config is validated, but a zone database may lack one).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatwoot_ai.conversation.attachments import language_key
from chatwoot_ai.models import BusinessHours

SEARCH_DAYS = 15  # a two-week holiday still finds the next opening

_WEEKDAYS = {
    "pt": ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_TEXT = {
    "pt": {"today": "hoje às {hhmm}", "tomorrow": "amanhã às {hhmm}", "day": "{day} ({date}) às {hhmm}",
           "back": "Nossa equipe está fora do horário de atendimento agora e volta {when}.",
           "note": "Mensagem recebida fora do horário de atendimento; a equipe volta {when}."},
    "en": {"today": "today at {hhmm}", "tomorrow": "tomorrow at {hhmm}", "day": "{day} ({date}) at {hhmm}",
           "back": "Our team is out of office right now and back {when}.",
           "note": "Message received outside business hours; the team is back {when}."},
    "es": {"today": "hoy a las {hhmm}", "tomorrow": "mañana a las {hhmm}", "day": "el {day} ({date}) a las {hhmm}",
           "back": "Nuestro equipo está fuera del horario de atención ahora y vuelve {when}.",
           "note": "Mensaje recibido fuera del horario de atención; el equipo vuelve {when}."},
}


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("America/Sao_Paulo")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _openings(hours: BusinessHours, day: date) -> list[tuple[int, int]]:
    if day.isoformat() in hours.holidays:
        return []
    return sorted((_minutes(p.start), _minutes(p.end)) for p in hours.opening_periods()
                  if day.weekday() in p.days and _minutes(p.end) > _minutes(p.start))


def is_open(hours: BusinessHours, timezone: str, now: datetime) -> bool:
    local = now.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute
    return any(start <= minute < end for start, end in _openings(hours, local.date()))


def next_opening(hours: BusinessHours, timezone: str, now: datetime) -> datetime | None:
    """The next time the team opens after `now` (local time), or None when no opening lies in the next two weeks."""
    local = now.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        for start, _end in _openings(hours, day):
            if offset > 0 or start > minute:
                return datetime(day.year, day.month, day.day, start // 60, start % 60, tzinfo=local.tzinfo)
    return None


def when_text(opening: datetime, now: datetime, language: str) -> str:
    texts, lang = _TEXT[language_key(language)], language_key(language)
    hhmm = opening.strftime("%H:%M")
    days = (opening.date() - now.astimezone(opening.tzinfo).date()).days
    if days == 0:
        return texts["today"].format(hhmm=hhmm)
    if days == 1:
        return texts["tomorrow"].format(hhmm=hhmm)
    return texts["day"].format(day=_WEEKDAYS[lang][opening.weekday()], date=opening.strftime("%d/%m"), hhmm=hhmm)


def out_of_hours(hours: BusinessHours | None, timezone: str, language: str,
                 now: datetime) -> tuple[str, str] | None:
    """None while the team is there (or no hours are set); else (what the customer hears, the agents' note line)."""
    if hours is None or is_open(hours, timezone, now):
        return None
    texts = _TEXT[language_key(language)]
    opening = next_opening(hours, timezone, now)
    if opening is None:
        return (hours.closed_message.strip(), texts["note"].split(";")[0] + ".")
    when = when_text(opening, now, language)
    customer = " ".join(p for p in (hours.closed_message.strip(), texts["back"].format(when=when)) if p)
    return customer, texts["note"].format(when=when)
