"""The last shot for review, and the product code that names the next ones.

ReviewPanel: after each capture, the locked feature(s) of the file at 100 % (its own
pixels, never scaled) with the focus mask, and the verdict beside them, in the verdict's
colour — what a photographer checks before moving on to the next product.

CodePanel: in a studio session whose names carry the product's code ({sku}), the code read
from a barcode or QR card held before the lens is offered, never used unasked: the user
confirms it (or types one), and the next shots are named with it.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from focuslock.overlay.focus_layer import STATE_COLOURS_RGB
from focuslock.session.review import ShotReview

__all__ = ["CodePanel", "RecipePanel", "ReviewPanel", "verdict_colour"]

# A session shot's verdict in the lock's colours (drift: the framing, not the focus).
_VERDICT_STATES = {"pass": "sharp", "drift": "softening"}


def verdict_colour(verdict: str | None) -> tuple[int, int, int]:
    """The RGB colour a verdict is shown in (grey when unknown)."""
    return STATE_COLOURS_RGB.get(_state_of(verdict) or "", (120, 120, 120))


def _state_of(verdict: str | None) -> str | None:
    """The lock's state whose colour a verdict takes (its own word where none is mapped)."""
    return _VERDICT_STATES.get(verdict, verdict) if verdict is not None else None


def _pixmap(image_rgb) -> QtGui.QPixmap:
    height, width = image_rgb.shape[:2]
    image = QtGui.QImage(image_rgb.data, width, height, image_rgb.strides[0], QtGui.QImage.Format.Format_RGB888)
    return QtGui.QPixmap.fromImage(image.copy())  # the copy owns its pixels


class ReviewPanel(QtWidgets.QGroupBox):
    """The last capture: its verdict and each feature at 100 % with the focus mask."""

    def __init__(self) -> None:
        super().__init__("Last shot at 100 %")
        layout = QtWidgets.QVBoxLayout(self)
        self.verdict = QtWidgets.QLabel("no shot yet")
        self.verdict.setWordWrap(True)
        self.crops = QtWidgets.QWidget()
        self.crops_layout = QtWidgets.QHBoxLayout(self.crops)
        self.crops_layout.setContentsMargins(0, 0, 0, 0)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.crops)
        scroll.setWidgetResizable(True)
        scroll.setMinimumHeight(200)
        layout.addWidget(self.verdict)
        layout.addWidget(scroll)
        self.review: ShotReview | None = None

    def show_review(self, review: ShotReview) -> None:
        self.review = review
        colour = verdict_colour(review.verdict)
        ink = (0, 0, 0) if _state_of(review.verdict) in ("sharp", "softening") else (255, 255, 255)
        head = (review.verdict or "saved").upper()
        self.verdict.setText(f"<b>{head}</b><br>{_escape(review.text)}" + (f"<br><i>{_escape(review.problem)}</i>"
                                                                            if review.problem else ""))
        self.verdict.setStyleSheet(f"QLabel {{ background: rgb{colour}; color: rgb{ink}; padding: 4px; }}")
        while self.crops_layout.count():
            item = self.crops_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        for crop in review.crops:
            cell = QtWidgets.QVBoxLayout()
            picture = QtWidgets.QLabel()
            pixmap = _pixmap(crop.image_rgb)
            picture.setPixmap(pixmap)  # at its own size: 100 %, never stretched
            picture.setStyleSheet(f"QLabel {{ border: 3px solid rgb{verdict_colour(crop.state)}; }}")
            picture.setFixedSize(pixmap.width() + 6, pixmap.height() + 6)
            title = QtWidgets.QLabel(crop.title)
            box = QtWidgets.QWidget()
            cell.addWidget(picture)
            cell.addWidget(title)
            cell.addStretch(1)
            box.setLayout(cell)
            self.crops_layout.addWidget(box)
        self.crops_layout.addStretch(1)


class CodePanel(QtWidgets.QGroupBox):
    """The product code the next shots are named with: read from a card, confirmed."""

    codeConfirmed = QtCore.Signal(str)

    def __init__(self, code: str | None = None) -> None:
        super().__init__("Product code (names the next shots)")
        layout = QtWidgets.QGridLayout(self)
        self.edit = QtWidgets.QLineEdit(code or "")
        self.edit.setPlaceholderText("hold the product's barcode or QR card before the lens, or type it")
        self.edit.editingFinished.connect(lambda: self.codeConfirmed.emit(self.edit.text().strip()))
        self.offer = QtWidgets.QLabel("")
        self.offer.setWordWrap(True)
        self.use = QtWidgets.QPushButton("Use this code")
        self.use.clicked.connect(self._use_offer)
        self.use.hide()
        layout.addWidget(QtWidgets.QLabel("next shots:"), 0, 0)
        layout.addWidget(self.edit, 0, 1)
        layout.addWidget(self.offer, 1, 0, 1, 2)
        layout.addWidget(self.use, 2, 0, 1, 2)
        self.offered: str | None = None

    def offer_code(self, code: str, kind: str) -> None:
        """A code read from live view: shown for the user to confirm, not used yet."""
        if code == self.edit.text().strip():
            self.offered = None
            self.offer.setText("")
            self.use.hide()
            return
        self.offered = code
        self.offer.setText(f"Read from the {kind}: <b>{_escape(code)}</b> — use it for the next shots?")
        self.use.show()

    def _use_offer(self) -> None:
        if self.offered is None:
            return
        self.edit.setText(self.offered)
        self.offer.setText("")
        self.use.hide()
        self.codeConfirmed.emit(self.offered)
        self.offered = None


def _escape(text: str | None) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")


class RecipePanel(QtWidgets.QGroupBox):
    """The recipe the session was opened with: every camera setting that differs from
    it (checked when the camera connects and again after each reconnect), and a button
    that sets them."""

    apply = QtCore.Signal()

    def __init__(self, name: str) -> None:
        super().__init__(f"Recipe {name}")
        layout = QtWidgets.QVBoxLayout(self)
        self.text = QtWidgets.QLabel("checking the camera against the recipe…")
        self.text.setWordWrap(True)
        self.button = QtWidgets.QPushButton("Set the camera as the recipe says")
        self.button.setEnabled(False)
        self.button.clicked.connect(self.apply.emit)
        layout.addWidget(self.text)
        layout.addWidget(self.button)
        self.differences: list = []

    def show_differences(self, differences: list, problems: list[str] | None = None) -> None:
        self.differences = list(differences)
        lines = [f"{d.describe()}" for d in differences]
        text = ("The camera differs from the recipe:<br>" + "<br>".join(_escape(line) for line in lines)) if lines \
            else "The camera matches the recipe."
        if problems:
            text += "<br><i>" + "<br>".join(_escape(p) for p in problems) + "</i>"
        self.text.setText(text)
        self.button.setEnabled(any(d.settable for d in differences))

    def say(self, text: str) -> None:
        self.text.setText(_escape(text))
        self.button.setEnabled(False)
