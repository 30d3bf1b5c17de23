"""What a PAM stack does when it runs: which lines can run and which ones every success passes.

Linux-PAM (libpam/pam_dispatch.c, pam.conf(5)) runs the lines of one type in order. Each line's
control maps the module's return value to an action:

- ``ignore``: no effect; ``ok``: the stack's result becomes success unless something failed
  before (a non-success value mapped to ok fails the stack); ``bad``: the stack fails, going on;
  ``die``: the stack fails and ends; ``done``: as ok, and the stack ends there if its result is
  success so far; ``reset``: forget the result so far; ``N``: skip the next N lines (for auth,
  account, password and session calls a jump is otherwise ``ignore``).
- keywords: ``required`` = [success=ok new_authtok_reqd=ok ignore=ignore default=bad],
  ``requisite`` = the same with default=die, ``sufficient`` = [success=done
  new_authtok_reqd=done default=ignore], ``optional`` = [success=ok new_authtok_reqd=ok
  default=ignore]; values a bracketed control does not name get ``bad``.
- at the end the stack succeeds only if some line set success and nothing failed.

`include` lines are spliced in (jumps count across them); a `substack` runs as one line whose
return value is the sub-stack's result, and ``done``/``die``/jumps inside it end only the sub-stack.

Modules are taken to return success or failure (and the values their control names
specifically); pam_permit only succeeds, pam_deny and pam_faillock's authfail only fail, and a
line whose type starts with ``-`` may also be absent (the module not installed), which libpam
treats as the line not being there.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# Action of a line: one of these words, or a positive int (jump).
Action = str | int

KEYWORDS: dict[str, dict[str, Action]] = {
    "required": {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "bad"},
    "requisite": {"success": "ok", "new_authtok_reqd": "ok", "ignore": "ignore", "default": "die"},
    "sufficient": {"success": "done", "new_authtok_reqd": "done", "default": "ignore"},
    "optional": {"success": "ok", "new_authtok_reqd": "ok", "default": "ignore"},
}
ACTIONS = frozenset({"ignore", "ok", "done", "bad", "die", "reset"})
ABSENT = "absent"  # outcome of a `-type` line whose module is not installed

# Results of the stack so far: nothing decided, success, failure.
UNDEF, POS, NEG = 0, 1, 2


def parse_control(control: str) -> dict[str, Action] | None:
    """The value -> action map of a control field, or None when it is not one."""
    if control in KEYWORDS:
        return dict(KEYWORDS[control])
    if not (control.startswith("[") and control.endswith("]")):
        return None
    actions: dict[str, Action] = {}
    for item in control[1:-1].split():
        value, sep, action = item.partition("=")
        if not sep or not value:
            return None
        action = action.lower()
        if action.isdigit():
            actions[value.lower()] = int(action) if int(action) > 0 else "ignore"
        elif action in ACTIONS:
            actions[value.lower()] = action
        else:
            return None
    return actions


@dataclass
class Node:
    """One line of a stack (or a substack, with its own lines in `children`)."""

    control: dict[str, Action]
    module: str
    args: tuple[str, ...] = ()
    optional: bool = False
    children: list[Node] | None = None
    # Filled in by analyse():
    reachable: bool = False
    enforced: bool = False  # every successful run of the stack passes this line with success
    results: frozenset[str] = field(default_factory=frozenset)  # for substacks: success/default

    def outcomes(self) -> list[str]:
        if self.children is not None:
            found = sorted(self.results)
        elif self.module == "pam_permit":
            found = ["success"]
        elif self.module == "pam_deny" or (self.module == "pam_faillock" and "authfail" in self.args):
            found = ["default"]
        else:
            named = [v for v in self.control if v not in ("success", "default", "ignore")]
            found = ["success", "default", *sorted(named)]
        return found + [ABSENT] if self.optional else found

    def action(self, outcome: str) -> Action:
        if outcome == ABSENT:
            return "ignore"
        return self.control.get(outcome, self.control.get("default", "bad"))


@dataclass(frozen=True)
class Flow:
    can_succeed: bool
    can_fail: bool


def _step(imp: int, outcome: str, action: Action) -> tuple[int, bool | None]:
    """(result so far, None to go on / True or False when the stack ends with that result)."""
    good = outcome == "success"
    if action in ("ok", "done"):
        if imp == NEG:  # a failure stands; `done` ends the stack only after a success
            return NEG, None
        if good:
            return POS, (True if action == "done" else None)
        # A failure value mapped to ok/done: the stack's result becomes that failure (and
        # `done` ends it there).
        return NEG, (False if action == "done" else None)
    if action in ("bad", "die"):
        return NEG, (False if action == "die" else None)
    if action == "reset":
        return UNDEF, None
    return imp, None  # ignore, and the ignore side of a jump


def _explore(nodes: list[Node], target: int | None) -> tuple[set[int], bool, bool, bool]:
    """Every run of `nodes`: (indexes that can run, can succeed, can fail, can succeed without
    passing `target` with success)."""
    n = len(nodes)
    seen: set[tuple[int, int, bool]] = set()
    todo: deque[tuple[int, int, bool]] = deque([(0, UNDEF, False)])
    ran: set[int] = set()
    succeed = fail = bypass = False
    while todo:
        state = todo.popleft()
        if state in seen:
            continue
        seen.add(state)
        i, imp, passed = state
        if i >= n:
            if imp == POS:
                succeed = True
                bypass = bypass or not passed
            else:
                fail = True
            continue
        ran.add(i)
        node = nodes[i]
        for outcome in node.outcomes():
            action = node.action(outcome)
            now_passed = passed or (i == target and outcome == "success")
            new_imp, end = _step(imp, outcome, action)
            if end is True:
                succeed = True
                bypass = bypass or not now_passed
                continue
            if end is False:
                fail = True
                continue
            nxt = i + 1 + (action if isinstance(action, int) and outcome != ABSENT else 0)
            todo.append((nxt, new_imp, now_passed))
    return ran, succeed, fail, bypass


def analyse(nodes: list[Node]) -> Flow:
    """Mark each node (and each substack's nodes) reachable / enforced; the stack's results."""
    for node in nodes:
        if node.children is not None:
            inner = analyse(node.children)
            node.results = frozenset(
                (["success"] if inner.can_succeed else []) + (["default"] if inner.can_fail else []))
    ran, succeed, fail, _ = _explore(nodes, None)
    for i, node in enumerate(nodes):
        node.reachable = i in ran
        node.enforced = node.reachable and succeed and not _explore(nodes, i)[3]
        if node.children is not None:
            _propagate(node.children, node.reachable, node.enforced)
    return Flow(can_succeed=succeed, can_fail=fail)


def _propagate(children: list[Node], reachable: bool, enforced: bool) -> None:
    """A substack's lines run only when the substack line does; they are enforced in the outer
    stack when enforced within the substack and the substack's success is."""
    for child in children:
        child.reachable = child.reachable and reachable
        child.enforced = child.enforced and enforced
        if child.children is not None:
            _propagate(child.children, reachable, enforced)
