"""Plans: what was proposed to build before building it, kept with the project."""

from __future__ import annotations

import json

from sqlmodel import col, select

from builder.errors import NotFound
from builder.models import Plan, utcnow
from builder.store.base import StoreBase

# What the person sees for a plan id that is not there (or in a project they cannot see): the same sentence.
NO_SUCH_PLAN = "There is no plan {plan_id!r}. Ask for a new one with Plan mode (or `python -m builder plan`)."


def checks_of(plan: Plan) -> list[str]:
    return [str(check) for check in json.loads(plan.checks)]


class PlanRecords(StoreBase):
    async def add_plan(self, plan: Plan) -> Plan:
        async with self._sessions() as session, session.begin():
            await self._project(session, plan.project_id)
            session.add(plan)
            await session.flush()
            await session.refresh(plan)
            return plan

    async def get_plan(self, plan_id: str) -> Plan:
        """The plan, if its project is not in the trash; NotFound otherwise."""
        async with self._sessions() as session:
            plan = await session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(NO_SUCH_PLAN.format(plan_id=plan_id))
            await self._project(session, plan.project_id)
            return plan

    async def update_plan(self, plan_id: str, **fields: object) -> Plan:
        async with self._sessions() as session, session.begin():
            plan = await session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(NO_SUCH_PLAN.format(plan_id=plan_id))
            for name, value in fields.items():
                setattr(plan, name, value)
            plan.updated_at = utcnow()
            session.add(plan)
            await session.flush()
            await session.refresh(plan)
            return plan

    async def list_plans(self, project_id: str) -> list[Plan]:
        """The project's plans, oldest first."""
        async with self._sessions() as session:
            await self._project(session, project_id)
            rows = await session.exec(select(Plan).where(Plan.project_id == project_id).order_by(col(Plan.created_at)))
            return list(rows.all())
