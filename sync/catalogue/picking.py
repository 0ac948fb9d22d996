"""Picking actions: pick.confirm, pick.short, pick.undo, tote.assign."""

from contract.actions import PickConfirm, PickShort, PickUndo, ToteAssign
from contract.rejections import Rejection as R
from sync.catalogue.entry import QT_TRANSLATE_NOOP, WORDS, Earlier, Effect, Entry, Rows, Words


def _confirm(a: PickConfirm, tasks: Rows, _: Earlier) -> None:
    task = tasks.get(a.task)
    if task is not None:
        task["picked_qty"] = task.get("picked_qty", 0) + a.qty
        if task["picked_qty"] >= task.get("qty", 0):
            task["status"] = "done"


def _short(a: PickShort, tasks: Rows, _: Earlier) -> None:
    task = tasks.get(a.task)
    if task is not None:
        task["status"], task["short_reason"] = "short", a.reason


def _undo(a: PickUndo, tasks: Rows, earlier: Earlier) -> None:
    task = tasks.get(a.task)
    confirmation = earlier.get(a.confirmation or "")
    undone = confirmation.args.get("qty", 0) if confirmation else 0
    if task is not None and undone:
        task["picked_qty"] = max(0, task.get("picked_qty", 0) - undone)
        task["status"] = "open"


def _tote_on_order(a: ToteAssign, orders: Rows, _: Earlier) -> None:
    order = orders.get(a.order)
    if order is not None:
        order["tote"] = a.tote


def _tote_on_tasks(a: ToteAssign, tasks: Rows, _: Earlier) -> None:
    for task in tasks.values():
        if task.get("order_id") == a.order:
            task["tote"] = a.tote


_REASONS = {"not_found": QT_TRANSLATE_NOOP(WORDS, "not found"), "damaged": QT_TRANSLATE_NOOP(WORDS, "damaged"),
            "qty_wrong": QT_TRANSLATE_NOOP(WORDS, "quantity wrong")}


def _describe_pick(a: dict) -> list[Words]:
    parts = []
    if "task" in a:
        parts.append(Words(QT_TRANSLATE_NOOP(WORDS, "task {task} at {location}") if a.get("location")
                           else QT_TRANSLATE_NOOP(WORDS, "task {task}")))
    elif a.get("location"):
        parts.append(Words(QT_TRANSLATE_NOOP(WORDS, "at {location}")))
    if isinstance(a.get("qty"), int):
        parts.append(Words(QT_TRANSLATE_NOOP(WORDS, "%n item(s)"), a["qty"]))
    if a.get("reason") in _REASONS:
        parts.append(Words(_REASONS[a["reason"]]))
    return parts


def _describe_tote(a: dict) -> list[Words]:
    texts = {"tote": QT_TRANSLATE_NOOP(WORDS, "tote {tote}"), "order": QT_TRANSLATE_NOOP(WORDS, "order {order}"),
             "batch": QT_TRANSLATE_NOOP(WORDS, "batch {batch}")}
    return [Words(texts[key]) for key in ("tote", "order", "batch") if a.get(key)]


_BACK_TO_BIN = QT_TRANSLATE_NOOP(WORDS, "The order had already left picking: put the items back at {at}.")

ENTRIES = (
    Entry(PickConfirm, QT_TRANSLATE_NOOP(WORDS, "Pick confirmed"), {"pick_task": Effect("id", "task", _confirm)},
          _describe_pick, {
              R.ORDER_CANCELLED: QT_TRANSLATE_NOOP(WORDS, "Put the picked items back at {at} and scan the tote "
                                                          "empty; the order was cancelled after picking started."),
              R.ORDER_CLOSED: _BACK_TO_BIN}),
    Entry(PickShort, QT_TRANSLATE_NOOP(WORDS, "Short pick"), {"pick_task": Effect("id", "task", _short)},
          _describe_pick, {R.ORDER_CLOSED: _BACK_TO_BIN}),
    Entry(PickUndo, QT_TRANSLATE_NOOP(WORDS, "Pick undone"), {"pick_task": Effect("id", "task", _undo)},
          _describe_pick, {
              R.ORDER_CLOSED: QT_TRANSLATE_NOOP(WORDS, "The order was already packed when this undo arrived: check "
                                                       "its parcel with the packing desk before it ships.")},
          refers_to="confirmation"),
    Entry(ToteAssign, QT_TRANSLATE_NOOP(WORDS, "Tote assigned"), {"order": Effect("id", "order", _tote_on_order),
                                                                  "pick_task": Effect("order_id", "order",
                                                                                      _tote_on_tasks)},
          _describe_tote, {
              R.ORDER_CANCELLED: QT_TRANSLATE_NOOP(WORDS, "The order was cancelled: empty {the_tote} and use it for "
                                                          "another order.")}),
)
