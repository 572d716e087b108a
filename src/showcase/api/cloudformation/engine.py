"""Running a stack operation: create, update or delete, with CloudFormation's rollback, in a thread of its own.

One resource at a time, in the plan's order (each after what it refers to), each step an event in
CloudFormation's words::

    create   CREATE_IN_PROGRESS -> CREATE_COMPLETE
             a resource fails: ROLLBACK_IN_PROGRESS, what was made is deleted, ROLLBACK_COMPLETE
             (CREATE_FAILED instead when the change set was executed with DisableRollback)
    update   UPDATE_IN_PROGRESS -> (a changed create-only property: a new resource; else the change in place)
             -> UPDATE_COMPLETE_CLEANUP_IN_PROGRESS (replaced and removed resources deleted) -> UPDATE_COMPLETE
             a resource fails: UPDATE_ROLLBACK_IN_PROGRESS, each change undone in reverse order,
             UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS -> UPDATE_ROLLBACK_COMPLETE (the stack as it was)
    delete   DELETE_IN_PROGRESS -> each resource deleted in reverse order -> DELETE_COMPLETE

CloudFormation makes independent resources in parallel; this engine makes them one after another, which changes
how long a stack takes, not what it ends up with.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from showcase.api.cloudformation import providers
from showcase.api.cloudformation.plans import Plan
from showcase.api.cloudformation.providers import Context, ResourceFailed
from showcase.api.cloudformation.resources import TYPES
from showcase.api.cloudformation.stacks import STACK_TYPE, Stacks, add_event, now
from showcase.deployment.intrinsics import Scope, resolve, template_error
from showcase.errors import UsageError

logger = logging.getLogger(__name__)
REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


@dataclass
class Operation:
    ctx: Context
    stacks: Stacks
    plan: Plan | None
    disable_rollback: bool = False
    working: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.ctx.stack_name

    def start(self, kind: str) -> None:
        """Run ``create``, ``update`` or ``delete`` in the background (the stack already says it is in progress)."""
        target = {"create": self.create, "update": self.update, "delete": self.delete}[kind]
        threading.Thread(target=self._guarded, args=(target,), name=f"stack-{self.name}", daemon=True).start()

    def _guarded(self, target: Any) -> None:
        try:
            target()
        except Exception:  # an operation's own failure is a stack status; anything else is logged whole
            logger.exception("the operation on stack %s failed", self.name)
            failed = {self.create: "CREATE_FAILED", self.delete: "DELETE_FAILED"}.get(target, "UPDATE_ROLLBACK_FAILED")
            self._status(failed, "The local CloudFormation failed: its log has the details")

    # -- the three operations --------------------------------------------------------------------------------

    def create(self) -> None:
        assert self.plan is not None
        order = self.plan.order
        self.stacks.change(self.name, lambda stack: stack.update(Order=order))
        try:
            for logical in self.plan.order:
                self._make(logical)
        except ResourceFailed as exc:
            failed = [logical for logical, r in self.working.items() if r["ResourceStatus"].endswith("FAILED")]
            reason = f"The following resource(s) failed to create: [{', '.join(failed)}]. "
            if self.disable_rollback:
                self._status("CREATE_FAILED", reason + "Rollback disabled.")
                return
            logger.info("stack %s: %s", self.name, exc)
            self._status("ROLLBACK_IN_PROGRESS", reason + "Rollback requested by user.")
            rolled_back = self._delete_each(list(reversed(self.plan.order)))
            self._status("ROLLBACK_COMPLETE" if rolled_back else "ROLLBACK_FAILED")
            return
        self._finish("CREATE_COMPLETE")

    def update(self) -> None:
        assert self.plan is not None
        before = self.stacks.get(self.name)
        self.working = copy.deepcopy(before.get("Resources") or {})
        undo: list[tuple[str, dict[str, Any] | None]] = []
        cleanup: list[tuple[str, dict[str, Any]]] = []
        try:
            for logical in self.plan.order:
                self._change(logical, undo, cleanup)
        except ResourceFailed:
            failed = [logical for logical, r in self.working.items() if r["ResourceStatus"].endswith("FAILED")]
            self._status(
                "UPDATE_ROLLBACK_IN_PROGRESS", f"The following resource(s) failed to update: [{', '.join(failed)}]."
            )
            self._roll_back(undo, before)
            return
        for logical, old in before.get("Resources", {}).items():
            if logical not in self.plan.static:
                cleanup.append((logical, old))
                self.working.pop(logical, None)
        self._finish("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
        self._clean_up(cleanup, before.get("Order") or [])
        self._status("UPDATE_COMPLETE")

    def delete(self) -> None:
        stack = self.stacks.get(self.name)
        self.working = copy.deepcopy(stack.get("Resources") or {})
        retained = set(stack.get("RetainResources") or [])
        known = stack.get("Order") or []
        unordered = [logical for logical in self.working if logical not in known]  # made before an order was noted
        order = [logical for logical in [*unordered, *reversed(known)] if logical not in retained]
        if not self._delete_each(order):
            failed = [logical for logical, r in self.working.items() if r["ResourceStatus"] == "DELETE_FAILED"]
            self._status("DELETE_FAILED", f"The following resource(s) failed to delete: [{', '.join(failed)}].")
            return
        final = self.stacks.change(self.name, lambda s: self._closed(s, "DELETE_COMPLETE"))
        self.stacks.retire(final)

    # -- one resource --------------------------------------------------------------------------------------------

    def _make(self, logical: str, status: str = "CREATE", reason: str | None = None) -> None:
        """Make the resource (``status`` UPDATE when it replaces one); ResourceFailed when it cannot be made."""
        assert self.plan is not None
        kind = TYPES[self.plan.resource(logical)["Type"]]
        self._resource(logical, kind.type_name, "", f"{status}_IN_PROGRESS", reason)
        name = ""
        try:
            properties = self._resolved(logical)
            name = properties.get(kind.name_property) or providers.generated_name(kind, logical, self.name)
            # Named before it is made: a stack the API stops during this step still knows what to delete.
            self._resource(logical, kind.type_name, name, f"{status}_IN_PROGRESS", "Resource creation Initiated")
            made = providers.create(self.ctx, kind, logical, properties, name)
        except ResourceFailed as exc:
            self._resource(logical, kind.type_name, name, f"{status}_FAILED", str(exc))
            raise
        self._record(logical, kind.type_name, made, f"{status}_COMPLETE")

    def _change(
        self, logical: str, undo: list[tuple[str, dict[str, Any] | None]], cleanup: list[tuple[str, dict[str, Any]]]
    ) -> None:
        assert self.plan is not None
        old = copy.deepcopy(self.working.get(logical))
        kind = TYPES[self.plan.resource(logical)["Type"]]
        if old is None or old["Type"] != kind.type_name:
            undo.append((logical, None))
            if old is not None:
                cleanup.append((logical, old))
                del self.working[logical]
            self._make(logical)
            return
        properties = self._resolved(logical, failing_as=(logical, kind.type_name, old["PhysicalResourceId"]))
        if properties == old["Properties"]:
            self.working[logical]["Static"] = self.plan.static[logical]["Properties"]
            return
        undo.append((logical, old))
        recreate = any(properties.get(p) != old["Properties"].get(p) for p in kind.create_only)
        if not recreate:
            self._update_in_place(logical, kind.type_name, old, properties)
            return
        if properties.get(kind.name_property) and properties.get(kind.name_property) == old["PhysicalResourceId"]:
            message = (
                "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename "
                f"{old['PhysicalResourceId']} and update the stack again."
            )
            self._resource(logical, kind.type_name, old["PhysicalResourceId"], "UPDATE_FAILED", message)
            raise ResourceFailed(message)
        cleanup.append((logical, old))
        del self.working[logical]  # the old resource stays until the cleanup; the new one takes its place
        self._make(logical, "UPDATE", REPLACING)

    def _update_in_place(self, logical: str, type_name: str, old: dict[str, Any], properties: dict[str, Any]) -> None:
        kind, physical = TYPES[type_name], old["PhysicalResourceId"]
        self._resource(logical, type_name, physical, "UPDATE_IN_PROGRESS")
        try:
            made = providers.update(self.ctx, kind, logical, physical, properties)
        except ResourceFailed as exc:
            self._resource(logical, type_name, physical, "UPDATE_FAILED", str(exc))
            raise
        self._record(logical, type_name, made, "UPDATE_COMPLETE")

    def _delete_each(self, order: list[str]) -> bool:
        """Delete the working resources in ``order`` (those that exist); False when one could not be deleted."""
        ok = True
        for logical in order:
            record = self.working.get(logical)
            if record is None or not record.get("PhysicalResourceId"):
                continue
            ok = self._delete_one(logical, record) and ok
        return ok

    def _delete_one(self, logical: str, record: dict[str, Any], *, current: bool = True) -> bool:
        """Delete one resource; ``current`` False for one already replaced (its events only, not its record)."""
        physical, type_name = record["PhysicalResourceId"], record["Type"]
        self._resource(logical, type_name, physical, "DELETE_IN_PROGRESS", track=current)
        try:
            providers.delete(self.ctx, TYPES[type_name], physical)
        except ResourceFailed as exc:
            self._resource(logical, type_name, physical, "DELETE_FAILED", str(exc), track=current)
            return False
        self._resource(logical, type_name, physical, "DELETE_COMPLETE", track=current)
        return True

    def _roll_back(self, undo: list[tuple[str, dict[str, Any] | None]], before: dict[str, Any]) -> None:
        ok = True
        for logical, old in reversed(undo):
            current = self.working.get(logical)
            made_new = current is not None and (
                old is None or current["PhysicalResourceId"] != old["PhysicalResourceId"]
            )
            if made_new and current is not None and current.get("PhysicalResourceId"):
                ok = self._delete_one(logical, current) and ok
            if old is not None and not made_new and current is not None and current["Properties"] != old["Properties"]:
                try:
                    self._update_in_place(logical, old["Type"], current, old["Properties"])
                except ResourceFailed:
                    ok = False
        if not ok:
            self._status("UPDATE_ROLLBACK_FAILED", "A change could not be undone; see the stack's events")
            return

        def restore(stack: dict[str, Any]) -> None:
            for key in ("Resources", "Order", "Template", "TemplateBody", "Parameters", "Outputs", "Tags"):
                stack[key] = before.get(key)
            self._closed(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")

        self.stacks.change(self.name, restore)
        self._status("UPDATE_ROLLBACK_COMPLETE")

    def _clean_up(self, cleanup: list[tuple[str, dict[str, Any]]], old_order: list[str]) -> None:
        position = {logical: index for index, logical in enumerate(old_order)}
        for logical, old in sorted(cleanup, key=lambda item: -position.get(item[0], -1)):
            self._delete_one(logical, old, current=False)  # a failure is an event; the update stands, as in AWS

    # -- resolving and recording ---------------------------------------------------------------------------

    def _resolved(self, logical: str, failing_as: tuple[str, str, str] | None = None) -> dict[str, Any]:
        assert self.plan is not None
        plan = self.plan

        def value(other: str, attribute: str | None) -> Any:
            record = self.working.get(other)
            if record is None:
                raise template_error(f"{logical} refers to {other}, which is not made yet")
            kind = TYPES[record["Type"]]
            return record["Attributes"][attribute or kind.ref_attribute]

        scope = Scope(plan.values, plan.pseudo, plan.template.get("Mappings") or {}, plan.conditions, value)
        try:
            resolved: dict[str, Any] = resolve(plan.resource(logical).get("Properties") or {}, scope)
        except UsageError as exc:
            if failing_as is not None:
                self._resource(*failing_as, "UPDATE_FAILED", str(exc))
            raise ResourceFailed(str(exc)) from None
        return resolved

    def _record(self, logical: str, type_name: str, made: providers.Made, status: str) -> None:
        assert self.plan is not None
        self.working[logical] = {
            "Type": type_name,
            "PhysicalResourceId": made.physical,
            "ResourceStatus": status,
            "Properties": made.properties,
            "Static": self.plan.static[logical]["Properties"],
            "Attributes": made.attributes,
            "LastUpdatedTimestamp": now(),
        }
        self._resource(logical, type_name, made.physical, status)

    def _resource(
        self, logical: str, type_name: str, physical: str, status: str, reason: str | None = None, *, track: bool = True
    ) -> None:
        """An event for the resource; ``track``: its record in the stack follows it."""
        if track:
            blank = {"Type": type_name, "PhysicalResourceId": physical, "Properties": {}, "Attributes": {}}
            record = self.working.setdefault(logical, blank)
            record.update(ResourceStatus=status, ResourceStatusReason=reason, LastUpdatedTimestamp=now())
            if physical:
                record["PhysicalResourceId"] = physical

        def edit(stack: dict[str, Any]) -> None:
            stack["Resources"] = {k: v for k, v in self.working.items() if v.get("ResourceStatus") != "DELETE_COMPLETE"}
            add_event(stack, logical, type_name, physical, status, reason)

        self.stacks.change(self.name, edit)

    def _status(self, status: str, reason: str | None = None) -> None:
        self.stacks.change(self.name, lambda stack: self._closed(stack, status, reason))

    def _closed(self, stack: dict[str, Any], status: str, reason: str | None = None) -> None:
        """The stack's new status and an event for it; a rollback's later statuses keep the reason it began with."""
        kept = stack.get("StackStatusReason") if reason is None and "ROLLBACK" in status else None
        stack.update(StackStatus=status, StackStatusReason=reason or kept)
        if not status.endswith("_IN_PROGRESS"):
            stack["Operation"] = None
        if status == "DELETE_COMPLETE":
            stack["DeletionTime"] = now()
        add_event(stack, self.name, STACK_TYPE, stack["StackId"], status, reason)

    def _finish(self, status: str) -> None:
        """The plan's template, parameters, order and outputs become the stack's."""
        assert self.plan is not None
        plan = self.plan
        outputs = self._outputs()

        def edit(stack: dict[str, Any]) -> None:
            stack.update(Template=plan.template, Parameters=plan.parameters, Order=plan.order, Outputs=outputs)
            stack.update(TemplateBody=stack.pop("PendingTemplateBody", stack.get("TemplateBody")))
            stack["Tags"] = stack.pop("PendingTags", stack.get("Tags") or [])
            self._closed(stack, status)

        self.stacks.change(self.name, edit)

    def _outputs(self) -> list[dict[str, Any]]:
        assert self.plan is not None
        plan = self.plan
        found = []
        for key, output in (plan.template.get("Outputs") or {}).items():
            if "Condition" in output and not plan.conditions.get(output["Condition"], False):
                continue
            value = self._resolved_output(output["Value"])
            entry = {"OutputKey": key, "OutputValue": value}
            if output.get("Description"):
                entry["Description"] = output["Description"]
            found.append(entry)
        return found

    def _resolved_output(self, value: Any) -> str:
        assert self.plan is not None
        plan = self.plan

        def attribute(other: str, name: str | None) -> Any:
            record = self.working[other]
            return record["Attributes"][name or TYPES[record["Type"]].ref_attribute]

        scope = Scope(plan.values, plan.pseudo, plan.template.get("Mappings") or {}, plan.conditions, attribute)
        resolved = resolve(value, scope)
        return ",".join(map(str, resolved)) if isinstance(resolved, list) else str(resolved)


def _physical(record: dict[str, Any] | None) -> str:
    return str((record or {}).get("PhysicalResourceId") or "")
