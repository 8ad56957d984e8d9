#!/usr/bin/env python3
"""Latency the svilm elements add to a live stream.

A live videotestsrc (640x480, 30 fps, the pipeline clock) feeds each element in turn; a
pad probe on the sink notes, for every buffer, how long after its capture it arrived:
(clock time now - base time) - the buffer's running time.  The same pipeline without an
svilm element is the reference, measured in the same run; the figures an element adds
are its own minus the reference's.  Also printed: the latency upstream of the sink reports (the
LATENCY query: what a synchronising sink would wait) and how many frames arrived.
Prints figures, never fails on speed.

  bench_live_latency.py [--model M] [--seconds S] [--plugin-path DIR]
"""
import argparse
import os
import statistics
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402


def measure(desc, seconds):
    pipeline = Gst.parse_launch(desc)
    sink = pipeline.get_by_name("sink")
    delays = []

    def probe(pad, info):
        buf = info.get_buffer()
        clock = pipeline.get_clock()
        if clock is None or buf.pts == Gst.CLOCK_TIME_NONE:
            return Gst.PadProbeReturn.OK
        now = clock.get_time() - pipeline.get_base_time()
        seg_pts = buf.pts  # live source: segment starts at 0, running time = pts
        delays.append((now - seg_pts) / 1e6)
        return Gst.PadProbeReturn.OK

    sink.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
    pipeline.set_state(Gst.State.PLAYING)
    bus = pipeline.get_bus()
    deadline = time.monotonic() + seconds
    error = None
    while time.monotonic() < deadline:
        msg = bus.timed_pop_filtered(100 * Gst.MSECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS)
        if msg and msg.type == Gst.MessageType.ERROR:
            error = msg.parse_error()[0].message
            break
    # asked upstream of the sink: a sink that does not synchronise answers "not live"
    query = Gst.Query.new_latency()
    reported = None
    if sink.get_static_pad("sink").peer_query(query):
        live, min_lat, max_lat = query.parse_latency()
        reported = min_lat / 1e6
    pipeline.set_state(Gst.State.NULL)
    if error:
        raise RuntimeError(error)
    return delays, reported


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--model", default=os.path.join(root, "models", "default.safetensors"))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--plugin-path", default=None, help="where libgstsvilm.so is")
    a = ap.parse_args()
    if a.plugin_path:
        os.environ["GST_PLUGIN_PATH"] = a.plugin_path
    Gst.init(None)
    if Gst.ElementFactory.find("svilmencode") is None:
        print("bench_live_latency: the svilm plugin is not on GST_PLUGIN_PATH", file=sys.stderr)
        return 1
    src = ("videotestsrc is-live=true pattern=ball ! "
           "video/x-raw,width=640,height=480,framerate=30/1 ! videoconvert ! ")
    m = a.model
    elements = [
        ("none (source + videoconvert)", ""),
        ("svilmencode", f"svilmencode model={m} ! "),
        ("svilmground phrases=ball", f"svilmground model={m} phrases=ball ! "),
        ("svilmscenecut", f"svilmscenecut model={m} ! "),
        ("svilmscenecut batch=1", f"svilmscenecut model={m} batch=1 ! "),
        ("svilmscenecut look-ahead=false", f"svilmscenecut model={m} look-ahead=false ! "),
    ]
    print(f"live 640x480 30 fps for {a.seconds:g} s each; delay = arrival at the sink - capture "
          f"(ms); added = median minus the reference's")
    ref = None
    for name, el in elements:
        try:
            delays, reported = measure(src + el + "fakesink name=sink sync=false", a.seconds)
        except RuntimeError as e:
            print(f"{name:34s} error: {e}")
            continue
        if len(delays) < 10:
            print(f"{name:34s} only {len(delays)} frames arrived")
            continue
        d = sorted(delays[len(delays) // 10:])  # the first tenth is start-up
        med = statistics.median(d)
        p95 = d[int(0.95 * (len(d) - 1))]
        if ref is None:
            ref = med
        rep = f"{reported:7.1f}" if reported is not None else "      -"
        print(f"{name:34s} frames {len(delays):4d}  median {med:7.1f}  p95 {p95:7.1f}  "
              f"max {d[-1]:7.1f}  added {med - ref:7.1f}  reported latency {rep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
