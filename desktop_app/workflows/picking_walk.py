"""The walk through a batch: which open task comes next, and work the server adds to it on the way."""


def live(tasks: list[dict]) -> list[dict]:
    """Tasks still meant to be picked: a cancelled order's goods stay on the shelf."""
    return [t for t in tasks if t.get("order_status") != "cancelled"]


def remaining(task: dict) -> int:
    """How many items of a task are still to pick."""
    return task["qty"] - task.get("picked_qty", 0)


class Walk:
    """The order in which the picker visits the open tasks of one batch.

    By route, except: skipped tasks go last; a task brought back by undo comes first; the bin whose
    label was scanned stays current. A task the server adds for a line already in the batch (the
    rest of a short pick, found in another bin) joins the end of the walk, and is news to tell.

    skipped, front and at_location are the picker's doing, put back with an action the journal
    could not store (snapshot / restore); what the server added stays added.
    """

    def __init__(self) -> None:
        self.skipped: list[int] = []
        self.front: int | None = None  # a task brought back by undo
        self.at_location: int | None = None  # the task whose bin label was scanned
        self._known: set[int] | None = None  # task ids seen in the batch; None: not read yet
        self._added: list[int] = []  # tasks the server added to lines of the batch, in arrival order
        self._news: list[str] = []  # their bins, not told yet

    def snapshot(self) -> tuple:
        """The picker's own part of the walk, to put back with restore()."""
        return list(self.skipped), self.front, self.at_location

    def restore(self, saved: tuple) -> None:
        """Put back a snapshot (an action judged on it could not be stored)."""
        skipped, self.front, self.at_location = saved
        self.skipped = list(skipped)

    def see(self, tasks: list[dict]) -> None:
        """Take note of tasks new to the batch since the last read.

        The server answers a short pick by adding tasks for the same order line in bins that
        still hold the product (order_api/mutations/picking.py, _reallocate); they arrive by the
        pull feed. Tasks there at the first read are the batch as claimed.
        """
        ids = {t["id"] for t in tasks}
        if self._known is None:
            self._known = ids
            return
        new = ids - self._known
        if not new:
            return
        # Only the server adds tasks to a line of a claimed batch, and only after a short pick of it.
        shorted = {t.get("line_id") for t in tasks if t["id"] in self._known and t["status"] == "short"} - {None}
        for t in sorted((t for t in live(tasks) if t["id"] in new), key=lambda t: (t["route_key"], t["id"])):
            if t.get("line_id") in shorted and t["status"] == "open":
                self._added.append(t["id"])
                self._news.append(t["location_label"])
        self._known |= new

    def take_news(self) -> list[str]:
        """The bins added to the walk since last asked."""
        news, self._news = self._news, []
        return news

    def queue(self, tasks: list[dict]) -> list[dict]:
        """Open tasks in walking order."""
        open_tasks = sorted((t for t in live(tasks) if t["status"] == "open"), key=lambda t: (t["route_key"], t["id"]))
        by_id = {t["id"]: t for t in open_tasks}
        at_end = [i for i in self._added if i not in self.skipped] + self.skipped
        moved = set(at_end)
        queue = [t for t in open_tasks if t["id"] not in moved] + [by_id[i] for i in at_end if i in by_id]
        # A task brought back by undo comes first; the bin the picker stands at (its label was
        # scanned) stays current even if a pull brings new work meanwhile.
        for keep in (self.front, self.at_location):
            if keep in by_id:
                queue.remove(by_id[keep])
                queue.insert(0, by_id[keep])
        return queue
