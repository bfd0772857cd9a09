"""Whether one of LiteLLM's keys may be used now, as LiteLLM admits a request: not
blocked (nor its team), not expired, allowed the model (by its own list and its team's),
and within the key's, its team's and, for a key of no team, its user's budget over the
current budget period; refused with rtcore's codes and LiteLLM's words."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from rtcore.keys.errors import Refusal

# Key model lists that allow every model (LiteLLM's spellings); "all-team-models" defers
# to the team's list.
ALL_MODELS = {"all-proxy-models", "*"}
TEAM_MODELS = "all-team-models"


def utc(value: datetime.datetime | None) -> datetime.datetime | None:
    # Prisma's DateTime is a timestamp without time zone, written in UTC.
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=datetime.UTC)


def _period_spend(row: Mapping[Any, Any], now: datetime.datetime) -> float:
    """What counts against the budget now: nothing once the budget period is over (LiteLLM's
    reset job zeroes ``spend`` then; until it runs, the spend of the period gone is not
    held against the new one)."""
    reset_at = utc(row.get("budget_reset_at"))
    if row.get("budget_duration") and reset_at is not None and reset_at <= now:
        return 0.0
    return float(row.get("spend") or 0.0)


def _allowed(models: list[str] | None, model: str) -> bool:
    return not models or model in models or bool(ALL_MODELS & set(models))


class Standing:
    """A key's rows (its own, its team's, its user's) and what it may spend."""

    def __init__(
        self,
        key: Mapping[Any, Any],
        team: Mapping[Any, Any] | None,
        user: Mapping[Any, Any] | None,
    ) -> None:
        self.key, self.team, self.user = key, team, user

    @property
    def label(self) -> str:
        return f"Key={self.key.get('key_alias') or self.key.get('key_name') or 'sk-...'}"

    def check(self, now: datetime.datetime, model: str | None) -> float | None:
        """What the session may spend (None: no budget binds), or ``Refusal`` with
        rtcore's codes and LiteLLM's words."""
        key, team = self.key, self.team
        if key.get("blocked"):
            raise Refusal(401, "key_blocked", f"This key is blocked ({self.label}).")
        expires = utc(key.get("expires"))
        if expires is not None and expires <= now:
            raise Refusal(
                401,
                "key_expired",
                f"Authentication Error - Expired Key. {self.label} expired at "
                f"{expires.isoformat()}.",
            )
        if team is not None and team.get("blocked"):
            raise Refusal(401, "team_blocked", f"Team={team['team_id']} is blocked ({self.label}).")
        if model is not None:
            self._check_model(model)
        lefts: list[float] = []
        spend, budget = _period_spend(key, now), key.get("max_budget")
        if budget is not None:
            if spend >= budget:
                raise _over(
                    f"Budget has been exceeded! {self.label} Current cost: {spend}, "
                    f"Max budget: {budget}"
                )
            lefts.append(budget - spend)
        if team is not None and team.get("max_budget") is not None:
            spend, budget = _period_spend(team, now), team["max_budget"]
            if spend >= budget:
                raise _over(
                    f"Budget has been exceeded! Team={team['team_id']} Current cost: {spend}, "
                    f"Max budget: {budget}"
                )
            lefts.append(budget - spend)
        # A user's own budget binds the keys of no team (as LiteLLM has it).
        user = self.user
        if team is None and user is not None and user.get("max_budget") is not None:
            spend, budget = _period_spend(user, now), user["max_budget"]
            if spend >= budget:
                raise _over(
                    f"ExceededBudget: User={user['user_id']} over budget. Spend={spend}, "
                    f"Budget={budget}"
                )
            lefts.append(budget - spend)
        return min(lefts) if lefts else None

    def _check_model(self, model: str) -> None:
        models = list(self.key.get("models") or [])
        team_models = list(self.team.get("models") or []) if self.team is not None else None
        if TEAM_MODELS in models:
            models = team_models or []
        if not _allowed(models, model):
            raise Refusal(
                403,
                "model_not_allowed",
                f"key not allowed to access model. This key can only access models={models}. "
                f"Tried to access {model}.",
            )
        if team_models is not None and not _allowed(team_models, model):
            raise Refusal(
                403,
                "model_not_allowed",
                f"Team={self.team and self.team['team_id']} not allowed to access model. "
                f"Team can only access models={team_models}. Tried to access {model}.",
            )


def _over(message: str) -> Refusal:
    return Refusal(429, "budget_exceeded", message, type="budget_exceeded")
