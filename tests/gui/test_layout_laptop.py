"""The wizard on a 1366×768 laptop screen (issue 16): the first window fits it, the Nodes step gives its
node table the height (cut lists one line while empty, every input's shape row shown), and the Convert
step shows every file it made on one line each, without gaps."""
from __future__ import annotations

from PySide6.QtCore import QSize

from edgewizard.core.plan import Selection

from .test_stale_state import choose, convert, open_model

LAPTOP = QSize(1366, 768 - 32)  # a 1366×768 screen less a desktop panel


def settle(qtbot, w, size=QSize(1366, 768)):
    w.resize(size)
    qtbot.waitUntil(lambda: w.size() == size, timeout=5000)
    qtbot.wait(50)  # layouts run on posted events


def rows_shown(view) -> int:
    return view.viewport().height() // view.verticalHeader().defaultSectionSize()


def test_the_first_window_fits_the_screen_it_opens_on(window):
    from edgewizard.gui.main_window import FRAME, PREFERRED, fitting_size

    laptop = fitting_size(LAPTOP)
    assert laptop.width() + FRAME.width() <= LAPTOP.width() and laptop.height() + FRAME.height() <= LAPTOP.height()
    assert fitting_size(QSize(1920, 1050)) == PREFERRED  # a big screen: the preferred size, not all of it
    saved = fitting_size(LAPTOP, QSize(1800, 1000))  # a size saved on a bigger screen shrinks to this one
    assert saved.width() + FRAME.width() == LAPTOP.width() and saved.height() == laptop.height()
    assert fitting_size(QSize(1920, 1050), QSize(1000, 700)) == QSize(1000, 700)  # a smaller one stays
    # No page asks for more than the laptop's room: every step can be shown there.
    need, room = window.minimumSizeHint(), LAPTOP - FRAME
    assert need.width() <= room.width() and need.height() <= room.height(), need


def test_the_nodes_step_gives_the_node_table_the_height(qtbot, window):
    w = window
    open_model(qtbot, w)
    assert w.go(1)
    settle(qtbot, w)
    nodes = w.page("Nodes")
    assert rows_shown(nodes.table) >= 13  # the sample's 13 nodes, all at once
    assert nodes.cut_inputs.empty.isVisible() and not nodes.inputs_list.isVisible()  # one line while empty
    assert rows_shown(nodes.shapes) >= nodes.shapes.rowCount() == 1
    # Chosen nodes show in full, the lists growing with them; every cut input gets its shape row.
    w.state.set_selection(Selection(("conv2", "pool2"), ("dense", "pool3", "flatten")))
    qtbot.wait(50)
    for names, view in ((2, nodes.inputs_list), (3, nodes.outputs_list)):
        assert view.isVisible() and view.count() == names
        assert view.viewport().height() >= names * view.sizeHintForRow(0)
    assert nodes.shapes.rowCount() == 2 and rows_shown(nodes.shapes) >= 2
    assert rows_shown(nodes.table) >= 10
    # Removing them gives the height back to the table.
    w.state.set_selection(Selection())
    qtbot.wait(50)
    assert not nodes.outputs_list.isVisible() and rows_shown(nodes.table) >= 13


def test_the_convert_step_lists_its_files_on_one_line_each_without_gaps(qtbot, window, tmp_path):
    w = window
    open_model(qtbot, w)
    choose(w, tmp_path / "out", ("openvino", "tflite"))
    page = convert(qtbot, w)
    for size in (QSize(1366, 768), QSize(1920, 1080)):
        settle(qtbot, w, size)
        files = page.files
        assert files.rowCount() >= 3 and rows_shown(files) >= files.rowCount()
        metrics = files.fontMetrics()
        for r in range(files.rowCount()):
            assert files.rowHeight(r) < 2 * metrics.height()  # one line: nothing wraps
            name = files.item(r, 0).text()
            assert files.columnWidth(0) >= metrics.horizontalAdvance(name)  # file names never cut
        box = page.results_box
        want = box.heightForWidth(box.width())  # (-1 when no wrapped words are in it)
        assert box.height() <= (want if want > 0 else box.sizeHint().height()) + 1  # no spare height inside
