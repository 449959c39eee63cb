"""What the first pass of ``analyze --lock-best`` keeps of each frame, so that the second
pass replays it instead of decoding the take again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from focuslock.io.video_file import DecodedPicture
from focuslock.workflows.take_input import InputFrame

__all__ = ["REPLAY_LIMIT_BYTES", "REPLAY_SLACK_PX", "Replay", "ReplayMiss"]

# The second pass of --lock-best replays the first pass's crops within this much memory
# (else it decodes the take again): about 1 800 frames of a 1080p take's feature.
REPLAY_LIMIT_BYTES = 512 * 2**20
# Room kept around the first pass's reach for the second pass's tracker, which starts
# from another frame with another template, px on every side.
REPLAY_SLACK_PX = 24


class ReplayMiss(Exception):
    """The second pass reads a part of a frame that the first did not keep."""


@dataclass(frozen=True)
class _Crop:
    """The part of a frame the feature could reach, at ``origin_px`` (x, y) in it."""

    index: int
    source: str | None
    time_s: float | None
    crop_rgb: np.ndarray
    origin_px: tuple[int, int]


class Replay:
    """What the first pass of ``--lock-best`` keeps so that the second need not decode the
    take again: each frame's part that the feature could reach (what the engine converted,
    ``FocusEngine.last_region_px``, widened by ``REPLAY_SLACK_PX``), the sharpest frame so
    far whole (the second pass's lock frame, where the noise is measured), and the frames
    that could not be read, in order. Iterating it gives the second pass its frames: each
    crop pasted into one frame-sized buffer whose other pixels are stale — read by
    nothing, which :meth:`check_holds` makes sure of for each frame processed."""

    def __init__(self, limit_bytes: int | None = None) -> None:
        # REPLAY_LIMIT_BYTES read when made (a test sets it to 0: nothing kept).
        self.limit_bytes = REPLAY_LIMIT_BYTES if limit_bytes is None else limit_bytes
        self.items: list[_Crop | InputFrame] = []
        self.bytes = 0
        self.complete = True  # false once over the limit: the second pass decodes
        self.whole_index: int | None = None
        self._whole: np.ndarray | DecodedPicture | None = None
        self.frame_count_hint: int | None = None
        self._buffer: np.ndarray | None = None
        self._boxes: dict[int, tuple[int, int, int, int]] = {}
        self._shape: tuple[int, ...] | None = None

    def keep(self, item: InputFrame, box: tuple[int, int, int, int] | None, rgb: np.ndarray | None = None) -> None:
        """Keep ``item`` (one that could not be read), or the part of its pixels ``rgb``
        within ``box`` and ``REPLAY_SLACK_PX`` (``rgb`` may hold only those rows)."""
        if not self.complete:
            return
        if rgb is None:
            self.items.append(item)
            return
        height, width = rgb.shape[:2]
        x0, y0, x1, y1 = box if box is not None else (0, 0, width, height)
        x0, y0 = max(x0 - REPLAY_SLACK_PX, 0), max(y0 - REPLAY_SLACK_PX, 0)
        x1, y1 = min(x1 + REPLAY_SLACK_PX, width), min(y1 + REPLAY_SLACK_PX, height)
        crop = rgb[y0:y1, x0:x1].copy()
        self.bytes += crop.nbytes
        if self.bytes > self.limit_bytes:
            self.release()
            return
        self.items.append(_Crop(item.index, item.source, item.time_s, crop, (x0, y0)))
        self._shape = rgb.shape

    def keep_whole(self, index: int, frame: np.ndarray | DecodedPicture) -> None:
        """Keep frame ``index`` whole: an RGB frame (copied), or a decoded picture,
        converted only if the second pass asks for it (:attr:`whole_rgb`)."""
        if self.complete:
            self.whole_index, self._whole = index, frame.copy() if isinstance(frame, np.ndarray) else frame

    @property
    def whole_rgb(self) -> np.ndarray | None:
        """The frame kept whole (:attr:`whole_index`), as RGB."""
        return self._whole.whole() if isinstance(self._whole, DecodedPicture) else self._whole

    def release(self) -> None:
        self.complete = False
        self.items, self._whole, self._buffer = [], None, None

    def __iter__(self) -> Iterator[InputFrame]:
        for item in self.items:
            if isinstance(item, InputFrame):
                yield item
                continue
            if self._buffer is None:
                assert self._shape is not None  # a crop follows the whole frame it is cut from
                self._buffer = np.zeros(self._shape, np.uint8)
            x0, y0 = item.origin_px
            h, w = item.crop_rgb.shape[:2]
            self._buffer[y0 : y0 + h, x0 : x0 + w] = item.crop_rgb
            self._boxes[item.index] = (x0, y0, x0 + w, y0 + h)
            yield InputFrame(item.index, item.source, item.time_s, self._buffer)

    def check_holds(self, item: InputFrame, box: tuple[int, int, int, int] | None) -> None:
        """Raise :class:`ReplayMiss` unless the frame's kept part holds ``box`` (None:
        the whole frame is read)."""
        kept = self._boxes.get(item.index)
        if box is None or kept is None or not (kept[0] <= box[0] and kept[1] <= box[1]
                                               and box[2] <= kept[2] and box[3] <= kept[3]):
            raise ReplayMiss()

    def close(self) -> None:
        pass
