"""One transaction boundary per request and per job step.

Services change rows and ``flush``; they never ``commit`` or ``rollback`` their caller's work
(a service that must undo only its own part uses ``session.begin_nested()``). Whatever must
not happen unless the change is committed — an enqueue, an event, a push, deleting a file —
is registered with :func:`after_commit` and runs after :func:`commit`, which the controller
(or the job step) calls exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

_AFTER_COMMIT = "echoes.after_commit"

SideEffect = Callable[[], Awaitable[object]]


def after_commit(session: AsyncSession, effect: SideEffect) -> None:
    """Run ``effect`` once this session's transaction has committed (never if it does not)."""
    session.info.setdefault(_AFTER_COMMIT, []).append(effect)


async def commit(session: AsyncSession) -> None:
    """Commit the unit of work, then run the side effects it made true, in order."""
    await session.commit()
    effects: list[SideEffect] = session.info.pop(_AFTER_COMMIT, [])
    for effect in effects:
        await effect()
