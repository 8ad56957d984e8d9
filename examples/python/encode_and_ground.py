#!/usr/bin/env python3
"""Encode a clip, ground a phrase, and read svilmencode's metas in a pipeline.

    encode_and_ground.py MODEL VIDEO [PHRASE]

Uses the Svilm-1.0 typelib (GObject introspection of libsvilm-core) and the
svilm GStreamer plugin.  From the build tree:

    meson devenv -C build python3 examples/python/encode_and_ground.py \
        models/default.safetensors examples/data/sample.mp4 ball
"""
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
gi.require_version("Svilm", "1.0")
from gi.repository import GLib, Gst, GstApp, Svilm  # noqa: E402,F401


def decode_frames(path, n):
    """The first n frames of a video as packed RGB bytes."""
    pipe = Gst.parse_launch(
        "filesrc name=src ! decodebin ! videoconvert ! video/x-raw,format=RGB "
        "! appsink name=sink sync=false")
    pipe.get_by_name("src").set_property("location", path)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    frames, width, height, stride = [], 0, 0, 0
    while len(frames) < n:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        s = sample.get_caps().get_structure(0)
        width, height = s.get_value("width"), s.get_value("height")
        stride = (width * 3 + 3) & ~3
        buf = sample.get_buffer()
        frames.append(buf.extract_dup(0, buf.get_size()))
    pipe.set_state(Gst.State.NULL)
    return frames, width, height, stride


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    model_path, video = sys.argv[1], sys.argv[2]
    phrase = sys.argv[3] if len(sys.argv) > 3 else "ball"
    Gst.init(None)

    model = Svilm.Model.load(model_path, "auto")
    print("model %s on %s, clips of %d frames" % (
        model.get_id(), model.get_device_name(), model.get_clip_frames()))

    # 1. one clip through the API
    frames, width, height, stride = decode_frames(video, 2 * model.get_clip_frames())
    pixels = GLib.Bytes.new(b"".join(f[:stride * height] for f in frames))
    clip = model.encode_clip_packed(pixels, len(frames), width, height, stride)
    emb = clip.get_embedding()
    print("clip embedding: %d values, first %s" % (len(emb), [round(x, 4) for x in emb[:4]]))
    g = clip.ground(model, phrase)
    print("'%s': score %.3f, box x=%.2f y=%.2f w=%.2f h=%.2f (fractions of the frame)" % (
        phrase, g.score, g.x, g.y, g.width, g.height))

    # 2. the same model in a pipeline: read the embedding metas from the buffers
    pipe = Gst.parse_launch(
        "filesrc name=src ! decodebin ! videoconvert ! svilmencode name=enc "
        "! appsink name=sink sync=false")
    pipe.get_by_name("src").set_property("location", video)
    pipe.get_by_name("enc").set_property("model", model_path)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    clips = 0
    while True:
        sample = sink.emit("pull-sample")
        if sample is None:
            break
        meta = sample.get_buffer().get_custom_meta("GstSvilmEmbeddingMeta")
        if meta is not None:
            s = meta.get_structure()
            clips += 1
            print("meta: clip [%.2f s, %.2f s), %d values" % (
                s.get_value("start") / Gst.SECOND, s.get_value("end") / Gst.SECOND,
                s.get_value("dim")))
    pipe.set_state(Gst.State.NULL)
    print("%d clips embedded" % clips)
    return 0 if clips > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
