"""The Publish dialog's own-domain part: add a domain, the records that prove it and point it here, Check, Remove."""

from __future__ import annotations

import reflex as rx

from builder.composition import Services
from builder.errors import ForjaError
from builder.services.access import Permission
from builder.services.app_domains import DomainInfo
from builder.state.workspace import WorkspaceState


class AppDomainState(rx.State):
    domain: str = ""
    # waiting (its TXT record not seen: served nowhere), taken (another app proved it), proved, live; "" without one.
    status: str = ""
    detail: str = ""
    proof_name: str = ""
    proof_value: str = ""
    record_name: str = ""
    record_value: str = ""
    new_domain: str = ""
    error: str = ""
    checking: bool = False

    def show(self, info: DomainInfo | None) -> None:
        self.domain = info.domain if info is not None else ""
        self.status = info.state if info is not None else ""
        self.detail = info.detail if info is not None else ""
        self.proof_name = info.proof_name if info is not None else ""
        self.proof_value = info.proof_value if info is not None else ""
        self.record_name = info.record_name if info is not None else ""
        self.record_value = info.record_value if info is not None else ""

    async def load(self, services: Services, project_id: str) -> None:
        self.error = ""
        self.show(await services.app_domains.info(project_id))

    @rx.event
    def set_new_domain(self, value: str) -> None:
        self.new_domain = value

    @rx.event
    async def add(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            domains = (await workspace.allowed(Permission.own)).services.app_domains
            info = await domains.set(workspace.project_id, self.new_domain)
        except ForjaError as exc:
            self.error = exc.message
            return
        self.error, self.new_domain = "", ""
        self.show(info)

    @rx.event(background=True)
    async def check(self):
        """Look the domain's records up now (a few seconds at most): a claim whose TXT record is there is proved and
        served at once."""
        async with self:
            if self.checking:
                return
            workspace = await self.get_state(WorkspaceState)
            project_id = workspace.project_id
            try:
                domains = (await workspace.allowed()).services.app_domains
            except ForjaError as exc:
                self.error = exc.message
                return
            self.checking, self.error = True, ""
        try:
            info, error = await domains.info(project_id, check=True), ""
        except ForjaError as exc:
            info, error = None, exc.message
        async with self:
            self.checking = False
            if error:
                self.error = error
            else:
                self.show(info)

    @rx.event
    async def remove(self) -> None:
        workspace = await self.get_state(WorkspaceState)
        try:
            await (await workspace.allowed(Permission.own)).services.app_domains.remove(workspace.project_id)
        except ForjaError as exc:
            self.error = exc.message
            return
        self.error = ""
        self.show(None)
