"""Browser tests of the `stylize serve` page (pytest + Playwright, sync API).

Run through scripts/test-browser. Every job is small (64 px) so that the
whole file takes a few minutes on two cores; nothing asserts a duration.
"""

import csv
import io
import os
import re
import signal
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import IMAGES, PHOTO, REPO, STYLE, Server

SMALL = 64
LONG_RUN = 400      # iterations of a job that gets cancelled
SHORT_RUN = 30      # iterations of a job that runs to the end
JOB_TIMEOUT_MS = 180_000

FIELD_IDS = {
    "size": "#size", "iterations": "#iterations", "seed": "#seed", "strength": "#strength",
    "preserve_colors": "#preserve-colors", "optimizer": "#optimizer", "tv_weight": "#tv-weight",
    "init": "#init", "init_noise": "#init-noise", "learning_rate": "#learning-rate",
    "scales": "#scales", "style_scale": "#style-scale",
}
SELECTS = {"preserve_colors", "optimizer", "init"}
ADVANCED = {"tv_weight", "init", "init_noise", "learning_rate", "scales", "style_scale"}


# ---------------------------------------------------------------- helpers
def choose_images(page, photo=PHOTO, styles=(STYLE,)):
    page.set_input_files("#content-input", str(photo))
    expect(page.locator("[data-testid=content-thumb]")).to_be_visible()
    if styles:
        page.set_input_files("#style-input", [str(s) for s in styles])
        expect(page.locator("[data-testid=style-thumb]")).to_have_count(len(styles))


def set_settings(page, **values):
    for key, value in values.items():
        sel = FIELD_IDS[key]
        if key in ADVANCED and not page.locator("#advanced").evaluate("d => d.open"):
            page.click("#advanced summary")
        if key in SELECTS:
            page.select_option(sel, str(value))
        elif key == "strength":
            page.locator(sel).evaluate(
                "(e, v) => { e.value = v; e.dispatchEvent(new Event('input', {bubbles: true})); }", str(value))
        else:
            page.fill(sel, "" if value is None else str(value))


def wait_fits(page):
    expect(page.locator("#estimate")).to_have_attribute("data-state", "fits", timeout=30_000)
    expect(page.locator("#start")).to_be_enabled()


def start(page):
    """Clicks Start; returns the new job (the POST's reply)."""
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as resp:
        page.click("#start")
    r = resp.value
    assert r.status == 201, f"POST /api/jobs: {r.status} {r.text()}"
    return r.json()


def history_item(page, job_id):
    return page.locator(f"[data-testid=history-item][data-job-id='{job_id}']")


def wait_history(page, job_id, state):
    item = history_item(page, job_id)
    expect(item).to_have_attribute("data-state", state, timeout=JOB_TIMEOUT_MS)
    return item


PREVIEW_STATE = """async () => {
  const img = document.querySelector('#preview');
  if (img.dataset.kind !== 'preview' || !img.src) return null;
  const seq = Number(img.dataset.seq);
  const r = await fetch(img.src);
  if (!r.ok) return null;
  const buf = await r.arrayBuffer();
  const d = await crypto.subtle.digest('SHA-256', buf);
  const hash = Array.from(new Uint8Array(d), b => b.toString(16).padStart(2, '0')).join('');
  return {seq, hash, job: Number(img.dataset.job), width: img.naturalWidth, bytes: buf.byteLength};
}"""


def next_preview(page, job_id, after_seq):
    page.wait_for_function(
        "([job, seq]) => { const i = document.querySelector('#preview');"
        " return i.dataset.kind === 'preview' && Number(i.dataset.job) === job && Number(i.dataset.seq) > seq; }",
        arg=[job_id, after_seq], timeout=JOB_TIMEOUT_MS)
    for _ in range(5):  # the image may be swapped again while it is read
        p = page.evaluate(PREVIEW_STATE)
        if p and p["seq"] > after_seq:
            return p
    raise AssertionError("could not read the preview")


def read_png(data):
    """Checks a PNG (signature, chunk CRCs, IHDR, inflated IDAT size); returns (width, height)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(b"".join(b for k, b in chunks if k == b"IDAT"))
    if interlace == 0:
        assert len(raw) == height * (1 + (width * channels * depth + 7) // 8), "IDAT size does not match IHDR"
    return width, height


# ---------------------------------------------------------------- tests
def test_binary_serves_these_assets(server):
    """The binary embeds crates/stylize-serve/assets as they are now (rebuild after editing them)."""
    if os.environ.get("STYLIZE_SERVE_ASSETS"):
        pytest.skip("STYLIZE_SERVE_ASSETS replaces the embedded page")
    assets = REPO / "crates" / "stylize-serve" / "assets"
    for path, name in (("/", "index.html"), ("/app.js", "app.js"), ("/style.css", "style.css")):
        status, body = server.request("GET", path)
        assert status == 200, path
        assert body == (assets / name).read_bytes(), f"{path} differs from {name}: rebuild the binary"


def test_page_loads_info_and_presets(page, server):
    info = server.get_json("/api/info")
    expect(page.locator("#preset option")).to_have_count(len(info["presets"]))
    expect(page.locator("#preset")).to_have_value(info["default_preset"])
    default = info["presets"][info["default_preset"]]
    expect(page.locator("#size")).to_have_value(str(default["size"]))
    expect(page.locator("[data-default-for=size]")).to_have_text(f"default {default['size']}")
    expect(page.locator("[data-default-for=iterations]")).to_have_text(f"default {default['iterations']}")
    # Each preset says what it sets (not to be read as the Seed field).
    for name, d in info["presets"].items():
        expect(page.locator(f"#preset option[value={name}]")).to_contain_text(
            f"{d['size']} px, {d['iterations']} iterations"
        )
    expect(page.locator("#preset option[value=seed]")).to_contain_text("seed (the blog post's program: Adam")
    expect(page.locator("[data-testid=builtin-style]")).to_have_count(len(info["styles"]))
    # This server has --output-dir: the page says where results are saved.
    assert info["keeps_results"] is True
    expect(page.locator("[data-testid=history-keeping]")).to_contain_text("also saved in the server's output folder")
    # Changing a field, then the preset, resets every field to that preset's defaults.
    page.fill("#size", "64")
    page.fill("#seed", "5")
    other = next(p for p in info["presets"] if p != info["default_preset"])
    page.select_option("#preset", other)
    o = info["presets"][other]
    expect(page.locator("#size")).to_have_value(str(o["size"]))
    expect(page.locator("#iterations")).to_have_value(str(o["iterations"]))
    expect(page.locator("#seed")).to_have_value(str(o["seed"]))
    expect(page.locator("#optimizer")).to_have_value(o["optimizer"])
    expect(page.locator("[data-default-for=size]")).to_have_text(f"default {o['size']}")
    # The strength slider shows the factor on beta.
    set_settings(page, strength=0.5)
    expect(page.locator("#strength-value")).to_have_text("×100.5")  # ×10<sup>0.5</sup>
    # Nothing chosen yet: Start is disabled.
    expect(page.locator("#start")).to_be_disabled()


def test_paste_and_drop_images(page, server):
    """A photo pasted into the focused photo zone; a style dropped on the style zone."""
    # One tab stop a zone (Enter on it opens the file picker): the next is the checkbox.
    page.focus("#content-zone")
    page.keyboard.press("Tab")
    expect(page.locator("#as-video")).to_be_focused()
    page.focus("#content-zone")
    page.evaluate("""async () => {
      const blob = await (await fetch('/styles/udnie.jpg')).blob();
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'pasted.jpg', {type: 'image/jpeg'}));
      document.activeElement.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true}));
    }""")
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text("pasted.jpg")
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text("512×512")
    page.evaluate("""async () => {
      const blob = await (await fetch('/styles/great_wave.jpg')).blob();
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'dropped.jpg', {type: 'image/jpeg'}));
      const zone = document.querySelector('#style-zone');
      zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
      zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(1)
    expect(page.locator("[data-testid=style-thumb]")).to_contain_text("dropped.jpg")
    set_settings(page, size=SMALL)
    wait_fits(page)
    # Beside the boxes: a drop is kept from opening the file in place of the page, and
    # says where to drop; a paste goes to the paintings once there is a photo.
    kept = page.evaluate("""async () => {
      const blob = await (await fetch('/styles/udnie.jpg')).blob();
      const dt = new DataTransfer();
      dt.items.add(new File([blob], 'beside.jpg', {type: 'image/jpeg'}));
      const over = new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true});
      document.body.dispatchEvent(over);
      const drop = new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true});
      document.body.dispatchEvent(drop);
      document.body.dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true, cancelable: true}));
      return [over.defaultPrevented, drop.defaultPrevented];
    }""")
    assert kept == [True, True], kept
    expect(page.locator("#notice")).to_contain_text("Drop a file onto the Photo box or the Painting box")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(2)
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text("pasted.jpg")


def test_previews_change_then_cancel_keeps_result(page, server):
    # Record, for every swap of the visible preview, whether the new image was
    # already complete (no blank frame between two previews).
    page.evaluate("""() => {
      window.__swaps = [];
      const img = document.querySelector('#preview');
      new MutationObserver(() => window.__swaps.push({
        kind: img.dataset.kind, complete: img.complete, w: img.naturalWidth,
      })).observe(img, {attributes: true, attributeFilter: ['src']});
    }""")
    choose_images(page)
    set_settings(page, size=SMALL, iterations=LONG_RUN)
    wait_fits(page)
    job = start(page)
    job_id = job["id"]
    expect(page.locator("#live")).to_have_attribute("data-state", "running", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#cancel")).to_be_enabled()

    first = next_preview(page, job_id, 0)
    assert first["bytes"] > 0 and first["width"] > 0
    second = next_preview(page, job_id, first["seq"])
    seen = {first["hash"]}
    while second["hash"] in seen:  # the same picture twice in a row: wait for another
        second = next_preview(page, job_id, second["seq"])
    assert second["seq"] > first["seq"]

    # The live numbers are shown.
    expect(page.locator("#iteration")).to_have_text(re.compile(rf"^\d+ / {LONG_RUN}$"))
    expect(page.locator("#eta")).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(page.locator("#its-per-s")).to_contain_text("it/s")
    expect(page.locator("#plot-legend")).to_be_visible()

    # Cancel: the job ends in the history with the image so far.
    with page.expect_response(lambda r: r.url.endswith(f"/api/jobs/{job_id}/cancel")) as resp:
        page.click("#cancel")
    assert resp.value.status == 200
    item = wait_history(page, job_id, "cancelled")
    expect(item.locator("[data-testid=download-result]")).to_have_attribute("href", f"/api/jobs/{job_id}/result")
    result = item.locator(".compare-result")
    expect(result).to_have_js_property("complete", True)
    assert result.evaluate("i => i.naturalWidth") > 0
    done = server.job(job_id)
    assert done["state"] == "cancelled" and done["has_result"], done
    assert done["iteration"] < LONG_RUN

    # No preview fetch overlapped another, and every swap showed a loaded image.
    assert page.watch.preview_max_inflight == 1, page.watch.preview_max_inflight
    swaps = page.evaluate("window.__swaps")
    assert swaps, "the preview never changed"
    assert all(s["complete"] and s["w"] > 0 for s in swaps), swaps


def test_run_to_end_download_png_and_csv(page, server, tmp_path):
    choose_images(page)
    set_settings(page, size=SMALL, iterations=SHORT_RUN)
    wait_fits(page)
    job_id = start(page)["id"]
    item = wait_history(page, job_id, "done")
    expect(page.locator("#iteration")).to_have_text(f"{SHORT_RUN} / {SHORT_RUN}")
    expect(page.locator("#iteration-label")).to_have_text("Iteration")
    expect(item.locator("[data-testid=history-state]")).to_have_text("done")
    job = server.job(job_id)

    with page.expect_download() as dl:
        item.locator("[data-testid=download-result]").click()
    png = tmp_path / "result.png"
    dl.value.save_as(png)
    # Named as the output folder and the ZIP name it: the photo's and the painting's names.
    assert dl.value.suggested_filename == job["result_name"], (dl.value.suggested_filename, job)
    assert job["result_name"] == f"{PHOTO.stem}-{STYLE.stem}.png", job["result_name"]
    width, height = read_png(png.read_bytes())
    assert (width, height) == (job["width"], job["height"])

    # `serve --output-dir`: the result is also in the server's folder, and the history says so.
    kept = item.locator("[data-testid=kept]")
    expect(kept).to_have_text(f"Saved in the server's output folder as {job['kept_as']}")
    assert (server.kept / job["kept_as"]).read_bytes() == png.read_bytes()

    with page.expect_download() as dl:
        item.locator("[data-testid=download-costs]").click()
    path = tmp_path / "costs.csv"
    dl.value.save_as(path)
    assert dl.value.suggested_filename == f"{PHOTO.stem}-{STYLE.stem}-costs.csv", dl.value.suggested_filename
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == SHORT_RUN
    assert {"iteration", "scale", "total", "content", "style", "tv", "elapsed_s"} <= set(rows[0])
    assert all(float(r["total"]) > 0 for r in rows)

    # The equivalent command line, and its copy button.
    command = item.locator("[data-testid=command]")
    expect(command).to_have_text(job["command"])
    # The settings chosen on the page, and the files as uploaded.
    assert job["command"].startswith(
        f"stylize image --content {PHOTO.name} --style {STYLE.name} --output result.png"
    ), job["command"]
    assert f" --size {SMALL} --iterations {SHORT_RUN}" in job["command"], job["command"]
    item.locator("[data-testid=copy-command]").click()
    expect(item.locator("[data-testid=copy-command]")).to_have_attribute("data-copied", "true")

    # The comparison: the slider reveals the photo over the result; side by side shows both.
    compare = item.locator("[data-testid=compare]")
    item.locator("[data-testid=compare-range]").fill("20")
    assert compare.evaluate("e => e.style.getPropertyValue('--pos')") == "20%"
    item.locator("[data-testid=side-by-side]").click()
    expect(item.locator("[data-testid=side-by-side]")).to_have_attribute("aria-pressed", "true")
    boxes = [item.locator(s).bounding_box() for s in (".compare-content", ".compare-result")]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1, boxes


def test_queue_two_jobs_and_remove_a_third(page, server):
    choose_images(page)
    set_settings(page, size=SMALL, iterations=80)
    wait_fits(page)
    first = start(page)
    second = start(page)
    third = start(page)
    queue = page.locator("[data-testid=queue-item]")
    third_item = page.locator(f"[data-testid=queue-item][data-job-id='{third['id']}']")
    expect(third_item).to_be_visible()
    # Positions count from 1; the third waits behind the second.
    second_item = page.locator(f"[data-testid=queue-item][data-job-id='{second['id']}']")
    if second_item.count():
        pos2 = int(second_item.locator("[data-testid=queue-position]").inner_text())
        pos3 = int(third_item.locator("[data-testid=queue-position]").inner_text())
        assert pos3 == pos2 + 1
    with page.expect_response(lambda r: r.url.endswith(f"/api/jobs/{third['id']}") and r.request.method == "DELETE") as resp:
        third_item.locator("[data-testid=remove]").click()
    assert resp.value.status == 204
    expect(third_item).to_have_count(0)
    wait_history(page, first["id"], "done")
    wait_history(page, second["id"], "done")
    expect(queue).to_have_count(0)
    expect(page.locator("#queue-empty")).to_be_visible()
    assert all(j["id"] != third["id"] for j in server.jobs()), "the removed job is still listed"
    expect(history_item(page, third["id"])).to_have_count(0)
    # A finished job leaves the history, with its files, from its own button.
    first_item = history_item(page, first["id"])
    with page.expect_response(lambda r: r.url.endswith(f"/api/jobs/{first['id']}") and r.request.method == "DELETE") as resp:
        first_item.locator("[data-testid=remove-finished]").click()
    assert resp.value.status == 204
    expect(first_item).to_have_count(0)
    expect(history_item(page, second["id"])).to_have_count(1)
    assert all(j["id"] != first["id"] for j in server.jobs()), "the removed job is still listed"


def test_long_names_queue_positions_and_focus_after_removals(browser, fresh_server, page_for, tmp_path):
    page = page_for(fresh_server)
    # A phone's long file name: the page keeps to the window's width, the title cut short.
    photo = tmp_path / ("a_really_long_photo_name_from_my_phone_IMG_20240101_123456789_final_edit_v2" + PHOTO.suffix)
    photo.write_bytes(PHOTO.read_bytes())
    choose_images(page, photo=photo)
    set_settings(page, size=SMALL, iterations=LONG_RUN)
    wait_fits(page)
    first, second, third = start(page), start(page), start(page)
    expect(page.locator("#live")).to_have_attribute("data-state", "running", timeout=JOB_TIMEOUT_MS)
    queued = {j["id"]: page.locator(f"[data-testid=queue-item][data-job-id='{j['id']}']") for j in (second, third)}
    expect(queued[third["id"]].locator("[data-testid=queue-position]")).to_have_text("2")
    widths = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_function(f"() => document.documentElement.clientWidth === {width}")
        scroll, client = page.evaluate(widths)
        assert scroll <= client, f"the page is {scroll} px wide in a {client} px window"
        box = page.locator("#cancel").bounding_box()
        assert box and box["x"] + box["width"] <= client, box
    page.set_viewport_size({"width": 1280, "height": 900})

    # Remove the second from the keyboard: the third moves up to 1, and focus
    # goes to its Remove button, not to the page's body.
    queued[second["id"]].locator("[data-testid=remove]").focus()
    page.keyboard.press("Enter")
    expect(queued[second["id"]]).to_have_count(0)
    expect(queued[third["id"]].locator("[data-testid=queue-position]")).to_have_text("1")
    page.wait_for_function(
        f"() => document.activeElement?.closest('[data-job-id]')?.dataset.jobId === '{third['id']}'")
    page.keyboard.press("Enter")
    expect(queued[third["id"]]).to_have_count(0)
    page.wait_for_function("() => document.activeElement?.id === 'queue-title'")

    # The only job left, removed from the history: the live panel is empty again.
    page.click("#cancel")
    item = wait_history(page, first["id"], "cancelled")
    expect(page.locator("#preview")).to_be_visible()
    item.locator("[data-testid=remove-finished]").focus()
    page.keyboard.press("Enter")
    expect(item).to_have_count(0)
    expect(page.locator("#preview")).to_be_hidden()
    expect(page.locator("#preview-empty")).to_be_visible()
    page.wait_for_function("() => document.activeElement?.id === 'history-title'")


def test_the_form_survives_a_reload_of_its_tab(page, server):
    choose_images(page)
    page.click("[data-testid=builtin-style][data-name=great_wave]")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(2)
    page.locator("[data-testid=style-weight]").first.fill("3")
    set_settings(page, size=96, iterations=7, tv_weight=0.5)
    page.check("#as-video")
    page.uncheck("#as-video")
    # Saved a moment after the last change.
    changed = page.evaluate("Date.now()")
    page.wait_for_function(f"() => Number(document.body.dataset.draftSaved || 0) >= {changed}")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text(PHOTO.name)
    thumbs = page.locator("[data-testid=style-thumb]")
    expect(thumbs).to_have_count(2)
    expect(thumbs.nth(0)).to_contain_text(STYLE.name)
    expect(thumbs.nth(1)).to_have_attribute("data-kind", "builtin")
    expect(page.locator("[data-testid=style-weight]").first).to_have_value("3")
    expect(page.locator("#size")).to_have_value("96")
    expect(page.locator("#iterations")).to_have_value("7")
    expect(page.locator("#tv-weight")).to_have_value("0.5")
    expect(page.locator("#advanced")).to_have_js_property("open", True)
    expect(page.locator("[data-testid=builtin-style][data-name=great_wave]")).to_have_attribute("aria-pressed", "true")
    wait_fits(page)
    # A new tab starts empty, and keeps a form of its own.
    other = page.context.new_page()
    other.goto(server.url)
    other.wait_for_selector("body[data-ready=true]")
    expect(other.locator("#content-zone-hint")).to_be_visible()
    expect(other.locator("[data-testid=style-thumb]")).to_have_count(0)
    other.set_input_files("#content-input", str(IMAGES / "coffee.jpg"))
    changed = other.evaluate("Date.now()")
    other.wait_for_function(f"() => Number(document.body.dataset.draftSaved || 0) >= {changed}")
    other.reload()
    other.wait_for_selector("body[data-ready=true]")
    expect(other.locator("[data-testid=content-thumb]")).to_contain_text("coffee.jpg")
    other.close()
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text(PHOTO.name)
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(2)
    # A draft not saved for a week (a tab closed long ago) is deleted when a page loads.
    draft_keys = """(add) => new Promise((resolve, reject) => {
      const open = indexedDB.open("stylize-draft", 1);
      open.onerror = () => reject(open.error);
      open.onsuccess = () => {
        const tx = open.result.transaction("drafts", "readwrite");
        const store = tx.objectStore("drafts");
        if (add) store.put({ savedAt: Date.now() - 8 * 24 * 3600 * 1000 }, "old-tab:form");
        const keys = store.getAllKeys();
        tx.oncomplete = () => { open.result.close(); resolve(keys.result); };
        tx.onerror = () => reject(tx.error);
      };
    })"""
    assert "old-tab:form" in page.evaluate(draft_keys, True)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    keys = page.evaluate(draft_keys, False)
    assert "old-tab:form" not in keys and len([k for k in keys if k.endswith(":form")]) == 2, keys


def test_run_again_from_history(page, server):
    choose_images(page, styles=(STYLE,))
    page.click("[data-testid=builtin-style][data-name=great_wave]")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(2)
    set_settings(page, size=SMALL, iterations=20, seed=7, strength=0.5, preserve_colors="luminance")
    wait_fits(page)
    first = start(page)
    wait_history(page, first["id"], "done")
    before = server.job(first["id"])

    # Change everything, then bring the job's settings and images back.
    page.select_option("#preset", "gatys")
    page.set_input_files("#content-input", str(IMAGES / "coffee.jpg"))
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text("coffee.jpg")
    page.locator("[data-testid=style-thumb] .chip-remove").first.click()
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(1)

    history_item(page, first["id"]).locator("[data-testid=run-again]").click()
    expect(page.locator("#preset")).to_have_value(before["settings"]["preset"])
    expect(page.locator("#size")).to_have_value(str(SMALL))
    expect(page.locator("#iterations")).to_have_value("20")
    expect(page.locator("#seed")).to_have_value("7")
    expect(page.locator("#strength")).to_have_value("0.5")
    expect(page.locator("#preserve-colors")).to_have_value("luminance")
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text(before["content_name"])
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(2)
    expect(page.locator("[data-testid=builtin-style][data-name=great_wave]")).to_have_attribute("aria-pressed", "true")
    wait_fits(page)
    again = start(page)
    wait_history(page, again["id"], "done")
    after = server.job(again["id"])
    assert after["settings"] == before["settings"]
    assert after["content_name"] == before["content_name"]
    assert after["style_names"] == before["style_names"]
    assert (after["width"], after["height"]) == (before["width"], before["height"])

    # In a new tab (its form empty: a draft is kept for a reload of its own
    # tab only) run again still brings back the job's own images from the
    # server: the uploaded style as a file, the bundled one selected in the
    # gallery again.
    page = page.context.new_page()
    page.goto(server.url)
    page.wait_for_selector("#connection[data-state=live]")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(0)
    page.click("[data-testid=builtin-style][data-name=udnie]")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(1)
    history_item(page, first["id"]).locator("[data-testid=run-again]").click()
    expect(page.locator("#notice")).to_contain_text(f"job #{first['id']} loaded")
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text(before["content_name"])
    expect(page.locator("#seed")).to_have_value("7")
    expect(page.locator("#preserve-colors")).to_have_value("luminance")
    thumbs = page.locator("[data-testid=style-thumb]")
    expect(thumbs).to_have_count(2)
    expect(thumbs.nth(0)).to_have_attribute("data-kind", "file")
    expect(thumbs.nth(0)).to_contain_text(STYLE.name)
    expect(thumbs.nth(1)).to_have_attribute("data-kind", "builtin")
    expect(page.locator("[data-testid=builtin-style][data-name=great_wave]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-testid=builtin-style][data-name=udnie]")).to_have_attribute("aria-pressed", "false")
    wait_fits(page)
    again = start(page)
    job = server.job(again["id"])
    assert job["settings"] == before["settings"]
    assert job["style_names"] == before["style_names"]
    assert [s["builtin"] for s in job["styles"]] == [None, "great_wave"], job["styles"]
    # The same bytes went up again: the photo and the uploaded style.
    assert server.request("GET", f"/api/jobs/{again['id']}/content", expect=200)[1] == PHOTO.read_bytes()
    assert server.request("GET", job["styles"][0]["url"], expect=200)[1] == STYLE.read_bytes()


def test_non_image_upload_shows_the_servers_error(page, server, tmp_path):
    fake = tmp_path / "holiday.jpg"
    fake.write_text("this is a text file, not a JPEG\n" * 20)
    choose_images(page, photo=fake)
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text("not readable")
    set_settings(page, size=SMALL, iterations=10)
    expect(page.locator("#start")).to_be_enabled()
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as resp:
        page.click("#start")
    assert resp.value.status == 415
    message = resp.value.json()["error"]
    assert message
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(message)
    expect(error).to_contain_text("415")
    assert not server.jobs() or all(j["content_name"] != "holiday.jpg" for j in server.jobs())
    # Another photo: the error about the last one goes.
    choose_images(page, styles=())
    expect(error).to_be_hidden()
    wait_fits(page)


def test_files_the_page_knows_are_wrong_are_said_before_start(page, server, tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    choose_images(page, photo=empty)
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text("empty file (0 bytes)")
    set_settings(page, size=SMALL, iterations=10)
    message = page.locator("#estimate-message")
    expect(message).to_have_text("The photo empty.jpg is empty (0 bytes).")
    expect(page.locator("#start")).to_be_disabled()
    # A JPEG is never a clip: painting it as a video is refused here, not after the upload.
    choose_images(page, styles=())
    wait_fits(page)
    page.check("#as-video")
    expect(message).to_contain_text("is a still photo: untick “Paint as video”")
    expect(page.locator("#start")).to_be_disabled()
    page.uncheck("#as-video")
    wait_fits(page)
    # Choosing a JPEG unticks it (by its bytes, whatever its name).
    renamed = tmp_path / "still.gif"
    renamed.write_bytes(PHOTO.read_bytes())
    page.check("#as-video")
    choose_images(page, photo=renamed, styles=())
    expect(page.locator("#as-video")).not_to_be_checked()
    wait_fits(page)
    # So does a PNG of one frame after a clip; an animated GIF leaves it as it is.
    clip = tmp_path / "walk.gif"
    clip.write_bytes(animated_gif())
    still = tmp_path / "still.png"
    still.write_bytes(gray_png(96, 64, lambda x, y: (x * 2) % 256))
    page.check("#as-video")
    choose_images(page, photo=clip, styles=())
    expect(page.locator("#as-video")).to_be_checked()
    choose_images(page, photo=still, styles=())
    expect(page.locator("#as-video")).not_to_be_checked()
    wait_fits(page)


def test_start_sends_one_job_a_click_and_a_too_large_upload_is_said(page, server):
    choose_images(page)
    set_settings(page, size=SMALL, iterations=5)
    wait_fits(page)
    # The server's answer held back: Start says it is uploading and takes no second click,
    # nor a second submit of the form (Enter in a field).
    held = []
    page.route("**/api/jobs", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    page.click("#start")
    expect(page.locator("#start")).to_have_text("Uploading…")
    expect(page.locator("#start")).to_be_disabled()
    page.evaluate("() => document.querySelector('#job-form').dispatchEvent(new Event('submit', {cancelable: true}))")
    page.wait_for_timeout(500)
    assert len(held) == 1, held
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as resp:
        held[0].continue_()
    assert resp.value.status == 201
    page.unroute("**/api/jobs")
    expect(page.locator("#start")).not_to_have_text("Uploading…")
    assert len(held) == 1, held
    # A server that takes less than the files: said before anything is sent.
    page.route("**/api/info", lambda route: route.fulfill(
        json={**server.get_json("/api/info"), "max_upload_bytes": 1000}))
    page.reload()
    # (The form, its files included, comes back with the tab.)
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(1)
    expect(page.locator("#estimate-text")).to_have_text("Too large to upload.")
    expect(page.locator("#estimate-message")).to_contain_text("--max-upload")
    expect(page.locator("#start")).to_be_disabled()


def start_sent(page):
    """Waits for the estimate, starts a job; returns it and the settings
    (JSON text) the page sent with it."""
    wait_fits(page)
    record_sent_fields(page)
    job = start(page)
    return job, next(v for k, v in page.evaluate("window.__sent") if k == "settings")


def record_sent_fields(page):
    """Makes the page keep the multipart fields of its next job in
    `window.__sent` as [name, value or 'file:NAME'] (Playwright does not
    report a FormData body)."""
    page.evaluate("""() => {
      const orig = window.fetch;
      window.fetch = function (input, init) {
        if (init && init.body instanceof FormData) {
          window.__sent = [...init.body.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : 'file:' + v.name]);
        }
        return orig.apply(this, arguments);
      };
    }""")


def test_bundled_style_from_gallery(page, server):
    page.set_input_files("#content-input", str(PHOTO))
    tile = page.locator("[data-testid=builtin-style][data-name=starry_night]")
    tile.click()
    expect(tile).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-testid=style-thumb][data-kind=builtin]")).to_have_count(1)
    set_settings(page, size=SMALL, iterations=10)
    wait_fits(page)
    record_sent_fields(page)
    job = start(page)
    sent = page.evaluate("window.__sent")
    assert ["builtin", "starry_night"] in sent, sent
    assert not [k for k, _ in sent if k == "style"], sent
    assert [k for k, _ in sent].count("content") == 1, sent
    wait_history(page, job["id"], "done")
    done = server.job(job["id"])
    assert len(done["style_names"]) == 1 and "starry_night" in done["style_names"][0]
    weights = page.locator("[data-testid=style-weight]")
    expect(weights).to_have_count(0)
    # Two paintings: each gets a blend weight, sent as style_blend.
    page.locator("[data-testid=builtin-style][data-name=great_wave]").click()
    expect(weights).to_have_count(2)
    weights.nth(0).fill("0")
    weights.nth(1).fill("0")
    # Said in the estimate, with Start disabled, once the estimate runs
    # (250 ms after the last change; a click before then says it as an
    # error instead, so the test waits for the estimate, not racing it).
    expect(page.locator("#estimate-message")).to_contain_text("all 0")
    expect(page.locator("#start")).to_be_disabled()
    weights.nth(0).fill("3")
    weights.nth(1).fill("1")
    blend, settings = start_sent(page)
    assert '"style_blend":[3,1]' in settings, settings
    item = wait_history(page, blend["id"], "done")
    command = server.job(blend["id"])["command"]
    assert " --style-blend 3,1 " in command, command
    # The server found its weights through STYLIZE_WEIGHTS: the command
    # names them, for a shell that sets none.
    assert command.endswith(" --weights " + os.path.realpath(os.environ["STYLIZE_HED_WEIGHTS"])), command
    # Alike weights are equal parts: no style_blend.
    weights.nth(0).fill("1")
    equal, settings = start_sent(page)
    assert "style_blend" not in settings, settings
    wait_history(page, equal["id"], "done")
    # Run again brings the weights back.
    item.locator("[data-testid=run-again]").click()
    expect(weights.nth(0)).to_have_value("3", timeout=30_000)
    expect(weights.nth(1)).to_have_value("1")
    # Clicking the tiles again removes the styles.
    page.locator("[data-testid=builtin-style][data-name=great_wave]").click()
    expect(weights).to_have_count(0)
    tile.click()
    expect(tile).to_have_attribute("aria-pressed", "false")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(0)
    expect(page.locator("#start")).to_be_disabled()


def test_fast_network_paints_a_photo_in_one_pass(page, server):
    info = server.get_json("/api/info")
    assert info["fast"], "the server found no fast models (scripts/test fetches them; else run scripts/fetch-fast-models)"
    choose_images(page)
    page.select_option("#method", "fast")
    # Of the settings the fast network uses the size and the colours.
    expect(page.locator("#iterations")).to_be_hidden()
    expect(page.locator("#optimizer")).to_be_hidden()
    expect(page.locator("#advanced")).to_be_hidden()
    expect(page.locator("#size")).to_be_visible()
    expect(page.locator("#preserve-colors")).to_be_visible()
    expect(page.locator("#preserve-colors option[value=histogram]")).to_be_disabled()
    page.fill("#size", "96")
    expect(page.locator("#fast-strength")).to_be_visible()
    page.locator("#fast-strength").evaluate(
        "e => { e.value = '0.75'; e.dispatchEvent(new Event('input', {bubbles: true})); }")
    expect(page.locator("#fast-strength-value")).to_have_text("75%")
    wait_fits(page)
    record_sent_fields(page)
    job = start(page)
    sent = page.evaluate("window.__sent")
    settings = next(v for k, v in sent if k == "settings")
    assert '"method":"fast"' in settings and '"fast_strength":0.75' in settings, settings
    item = wait_history(page, job["id"], "done")
    expect(item).to_contain_text("fast network")
    # One pass: no costs to download.
    expect(item.locator("[data-testid=download-costs]")).to_have_count(0)
    # The live panel shows no rate and no plot legend for one pass.
    expect(page.locator("#live")).to_have_attribute("data-job", str(job["id"]))
    expect(page.locator("#speed-stat")).to_be_hidden()
    expect(page.locator("#plot-legend")).to_be_hidden()
    done = server.job(job["id"])
    assert done["command"].startswith("stylize fast"), done["command"]
    # The strength, then the models' folder however the server found it
    # (here the cache or STYLIZE_FAST_MODELS, not --models).
    assert " --strength 0.75 --models /" in done["command"], done["command"]
    status, png = server.request("GET", f"/api/jobs/{job['id']}/result", expect=200)
    assert read_png(png) == (96, 64)
    # Every result in one ZIP.
    with page.expect_download() as dl:
        page.click("[data-testid=download-all]")
    assert dl.value.suggested_filename == "stylize-results.zip"
    assert Path(dl.value.path()).read_bytes()[:4] == b"PK\x03\x04"
    # Run again restores the method; the optimiser brings its settings back.
    item.locator("[data-testid=run-again]").click()
    expect(page.locator("#method")).to_have_value("fast")
    expect(page.locator("#fast-strength")).to_have_value("0.75")
    page.select_option("#method", "optimize")
    expect(page.locator("#iterations")).to_be_visible()
    expect(page.locator("#fast-strength")).to_be_hidden()


def test_fast_network_builtin_style_without_a_painting(page, server):
    page.set_input_files("#content-input", str(PHOTO))
    expect(page.locator("[data-testid=content-thumb]")).to_be_visible()
    expect(page.locator("#start")).to_be_disabled()
    page.select_option("#method", "fast")
    tiles = page.locator("[data-testid=network-style]")
    expect(tiles).to_have_count(26)
    tile = page.locator("[data-testid=network-style][data-index='5']")
    tile.scroll_into_view_if_needed()
    # Its swatch: the network's style 5 on the bundled photo, loaded.
    page.wait_for_function(
        "() => { const i = document.querySelector(\"[data-testid=network-style][data-index='5'] img\");"
        " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
    tile.click()
    expect(tile).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-testid=network-style-hint]")).to_contain_text("built-in style 5")
    page.fill("#size", "96")
    wait_fits(page)
    record_sent_fields(page)
    job = start(page)
    sent = page.evaluate("window.__sent")
    assert not [k for k, _ in sent if k in ("style", "builtin")], sent
    settings = next(v for k, v in sent if k == "settings")
    assert '"network_style":"5"' in settings, settings
    item = wait_history(page, job["id"], "done")
    expect(item).to_contain_text("built-in style 5")
    done = server.job(job["id"])
    assert "--builtin 5" in done["command"], done["command"]
    status, png = server.request("GET", f"/api/jobs/{job['id']}/result", expect=200)
    assert read_png(png) == (96, 64)
    # Shift-click mixes: styles 5 and 12 in equal parts.
    other = page.locator("[data-testid=network-style][data-index='12']")
    other.click(modifiers=["Shift"])
    expect(tile).to_have_attribute("aria-pressed", "true")
    expect(other).to_have_attribute("aria-pressed", "true")
    expect(page.locator("[data-testid=network-style-hint]")).to_contain_text("styles 5 + 12 in equal parts")
    mix, settings = start_sent(page)
    assert '"network_style":"5,12"' in settings, settings
    wait_history(page, mix["id"], "done")
    assert "--builtin 5,12" in server.job(mix["id"])["command"]
    # Each style of a mix has a weight.
    mix_weights = page.locator("[data-testid=network-weight]")
    expect(mix_weights).to_have_count(2)
    mix_weights.nth(1).fill("3")
    expect(page.locator("[data-testid=network-style-hint]")).to_contain_text("5:1,12:3")
    weighed, settings = start_sent(page)
    assert '"network_style":"5:1,12:3"' in settings, settings
    weighed_item = wait_history(page, weighed["id"], "done")
    assert "--builtin 5:1,12:3" in server.job(weighed["id"])["command"]
    # Run again of the equal mix, then of the weighed one: the fields follow.
    history_item(page, mix["id"]).locator("[data-testid=run-again]").click()
    expect(mix_weights.nth(1)).to_have_value("1")
    weighed_item.locator("[data-testid=run-again]").click()
    expect(mix_weights.nth(1)).to_have_value("3")
    # A plain click picks one again; clicking it again goes back to the
    # paintings: there are none.
    other.click(modifiers=["Shift"])
    expect(other).to_have_attribute("aria-pressed", "false")
    tile.click()
    expect(tile).to_have_attribute("aria-pressed", "false")
    expect(page.locator("#start")).to_be_disabled()
    # Run again brings the style back.
    item.locator("[data-testid=run-again]").click()
    expect(tile).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#start")).to_be_enabled(timeout=30_000)


def test_estimate_refusal_disables_start(page, server):
    info = server.get_json("/api/info")
    choose_images(page)
    set_settings(page, size=SMALL)
    wait_fits(page)
    expect(page.locator("#estimate-text")).to_contain_text("about")
    # Too small for the network's deepest layer: no size in bytes, the server's reason.
    set_settings(page, size=info["ranges"]["size"][0])
    estimate = page.locator("#estimate")
    expect(estimate).to_have_attribute("data-state", "refused")
    expect(page.locator("#estimate-text")).to_have_text("Not possible with these settings.")
    expect(page.locator("#estimate-message")).to_contain_text("px")
    expect(page.locator("#start")).to_be_disabled()
    set_settings(page, size=info["ranges"]["size"][1], scales=1)
    expect(estimate).to_have_attribute("data-state", re.compile("^(fits|refused)$"))
    if estimate.get_attribute("data-state") != "refused":
        pytest.skip(f"the largest size fits in this server's memory limit ({info['max_memory_bytes']})")
    expect(page.locator("#estimate-message")).to_be_visible()
    assert page.locator("#estimate-message").inner_text().strip()
    expect(page.locator("#start")).to_be_disabled()
    # The server refuses the same job with 422.
    status, body = server.submit({"size": info["ranges"]["size"][1], "iterations": 1})
    assert status == 422, (status, body)
    # Back to a small size: Start comes back.
    set_settings(page, size=SMALL)
    wait_fits(page)


def test_events_reconnect_after_server_restart(browser, page_for, tmp_path):
    """The server stops (its event stream ends); a new one on the same port: the page
    reconnects and rebuilds from the new snapshot (job ids start again)."""
    first = Server(tmp_path / "first.log")
    port = first.port
    try:
        page = page_for(first)
        status, job = first.submit({"size": SMALL, "iterations": 5})
        assert status == 201, job
        wait_history(page, job["id"], "done")
        expect(history_item(page, job["id"])).to_contain_text("chelsea.jpg")
        # A job left running when the server stops ends with it on the page.
        status, running = first.submit({"size": SMALL, "iterations": 100000})
        assert status == 201, running
        expect(page.locator("#live-state")).to_have_text("running", timeout=60_000)
    finally:
        first.stop()
    expect(page.locator("#connection")).not_to_have_attribute("data-state", "live")
    # The pill keeps saying why while the page retries; the error says what ended.
    expect(page.locator("#connection")).to_contain_text("server stopped")
    expect(page.locator("#error")).to_contain_text(f"The server stopped: job #{running['id']} stopped part-way")
    expect(page.locator("#live-state")).to_have_text("stopped")
    # This server keeps no results: the image so far went with it.
    expect(page.locator("#live-error")).to_contain_text("--output-dir")
    expect(page.locator("#cancel")).to_be_disabled()
    second = Server(tmp_path / "second.log", port=port)
    try:
        status, again = second.submit({"size": SMALL, "iterations": 5}, content=IMAGES / "coffee.jpg")
        assert status == 201, again
        assert again["id"] == job["id"]
        second.wait_job(again["id"], ("done",))
        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=60_000)
        item = wait_history(page, again["id"], "done")
        expect(item).to_contain_text("coffee.jpg")
        expect(page.locator("[data-testid=history-item]")).to_have_count(1)
        # Back: the error about the stop is gone.
        expect(page.locator("#error")).to_be_hidden()
    finally:
        page.context.close()
        second.stop()


# The live card's picture, when it is a job's result: {job, shown, result},
# the SHA-256 of the picture shown and of the job's result on the server.
RESULT_SHOWN = """async () => {
  const img = document.querySelector('#preview');
  if (img.dataset.kind !== 'result' || !img.src) return null;
  const hash = async (url) => {
    const d = await crypto.subtle.digest('SHA-256', await (await fetch(url, {cache: 'no-store'})).arrayBuffer());
    return Array.from(new Uint8Array(d), b => b.toString(16).padStart(2, '0')).join('');
  };
  const job = Number(img.dataset.job);
  return {job, shown: await hash(img.src), result: await hash(`/api/jobs/${job}/result`)};
}"""

# The SHA-256 of the live card's picture, whatever it is (null for none).
PICTURE_HASH = """async () => {
  const img = document.querySelector('#preview');
  if (img.hidden || !img.src) return null;
  const d = await crypto.subtle.digest('SHA-256', await (await fetch(img.src)).arrayBuffer());
  return Array.from(new Uint8Array(d), b => b.toString(16).padStart(2, '0')).join('');
}"""


@pytest.mark.parametrize("sent_by", ["page", "another-client"])
def test_a_restarted_servers_job_of_an_old_id_shows_its_own_pictures(browser, page_for, tmp_path, sent_by):
    """The same photo and painting sent again to a restarted server, which
    numbers the job #1 again: the live card shows the new job's previews
    and result, not the old #1's. The page hears of the new server first
    from the job's reply (sent from the page), or from the events'
    snapshot, which already holds the job (sent by another client)."""
    first = Server(tmp_path / "first.log")
    port = first.port
    try:
        page = page_for(first)
        choose_images(page)
        set_settings(page, size=SMALL, iterations=SHORT_RUN)
        wait_fits(page)
        old = start(page)
        wait_history(page, old["id"], "done")
        page.wait_for_function(f"() => {{ const i = document.querySelector('#preview');"
                               f" return i.dataset.kind === 'result' && i.dataset.job === '{old['id']}'; }}")
        old_result = page.evaluate(RESULT_SHOWN)["shown"]
    finally:
        first.stop()
    expect(page.locator("#connection")).to_contain_text("server stopped")
    # The page has not reconnected yet when the job is sent (its retry
    # comes later).
    page.route("**/api/events", lambda route: route.abort())
    second = Server(tmp_path / "second.log", port=port)
    try:
        if sent_by == "page":
            set_settings(page, iterations=SHORT_RUN + 10)
            wait_fits(page)
            again = start(page)
            # Its reply is taken (the events still kept away): the new job
            # waits in the queue, and the old #1 is gone.
            expect(page.locator(f"#queue li[data-job-id='{again['id']}']")).to_be_visible(timeout=3_000)
            expect(page.locator("[data-testid=history-item]")).to_have_count(0, timeout=1_000)
        else:
            status, again = second.submit({"size": SMALL, "iterations": SHORT_RUN + 10})
            assert status == 201, again
            expect(page.locator("#live-state")).to_have_text("done")
        assert again["id"] == old["id"], again
        page.unroute("**/api/events")
        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=60_000)
        # Back: the old #1's result is no longer shown as the new one's.
        assert page.evaluate(PICTURE_HASH) != old_result
        second.wait_job(again["id"], ("done",), timeout=JOB_TIMEOUT_MS / 1000)
        wait_history(page, again["id"], "done")
        expect(page.locator("#iteration")).to_have_text(f"{SHORT_RUN + 10} / {SHORT_RUN + 10}")
        # The picture shown is the new job's result (the old one's had fewer iterations).
        page.wait_for_function(f"async () => {{ const s = await ({RESULT_SHOWN})();"
                               f" return !!s && s.job === {again['id']} && s.shown === s.result; }}",
                               timeout=30_000, polling=500)
        expect(page.locator("[data-testid=history-item]")).to_have_count(1)
    finally:
        page.context.close()
        second.stop()


def test_ctrl_c_stops_the_running_job_and_the_waiting_one_never_ran(browser, page_for, tmp_path):
    """Ctrl-C to a server with --output-dir while one job runs and one
    waits: the running one is shown stopped, its image so far kept in the
    folder (as the page says); the waiting one as not run, with no costs
    to download, and not as the last job."""
    kept = tmp_path / "kept"
    srv = Server(tmp_path / "server.log", extra_args=("--output-dir", str(kept)))
    try:
        page = page_for(srv)
        status, running = srv.submit({"size": SMALL, "iterations": LONG_RUN})
        assert status == 201, running
        status, waiting = srv.submit({"size": SMALL, "iterations": LONG_RUN})
        assert status == 201, waiting
        expect(page.locator("#live")).to_have_attribute("data-state", "running", timeout=JOB_TIMEOUT_MS)
        expect(page.locator("#queue li")).to_have_count(1)
        # At least one step done: there is an image so far to keep.
        expect(page.locator("#iteration")).to_have_text(re.compile(rf"^[1-9]\d* / {LONG_RUN}$"), timeout=JOB_TIMEOUT_MS)
        srv.proc.send_signal(signal.SIGINT)
        srv.proc.wait(timeout=30)
    finally:
        srv.stop()
    expect(page.locator("#connection")).to_contain_text("server stopped")
    expect(page.locator("#error")).to_contain_text(
        f"job #{running['id']} stopped part-way; 1 waiting job did not run")
    # The job that ran is the last job, stopped, not failed.
    live = page.locator("#live")
    expect(live).to_have_attribute("data-job", str(running["id"]))
    expect(page.locator("#live-title")).to_have_text("Last job")
    expect(page.locator("#live-state")).to_have_text("stopped")
    files = [p.name for p in kept.iterdir()]
    assert files == ["chelsea-starry_night-stopped.png"], files
    note = f"kept in the server's output folder, as {files[0]}"
    expect(page.locator("#live-error")).to_contain_text(note)
    ran = history_item(page, running["id"])
    expect(ran).to_have_attribute("data-state", "stopped")
    expect(ran.locator("[data-testid=history-state]")).to_have_text("stopped")
    expect(ran.locator("[data-testid=kept]")).to_contain_text(note)
    expect(ran.locator(".history-error")).to_be_hidden()
    # The one that waited: not run, no "stopped at", no costs.
    unrun = history_item(page, waiting["id"])
    expect(unrun).to_have_attribute("data-state", "not-run")
    expect(unrun.locator("[data-testid=history-state]")).to_have_text("not run")
    expect(unrun).not_to_contain_text("stopped at")
    expect(unrun).not_to_contain_text("failed")
    expect(unrun.locator("[data-testid=download-costs]")).to_have_count(0)
    expect(unrun.locator("[data-testid=kept]")).to_contain_text("never ran")
    expect(ran.locator("[data-testid=download-costs]")).to_have_count(1)


def test_a_job_the_server_stops_in_its_set_up_is_not_said_to_be_kept(browser, page_for, tmp_path):
    """Ctrl-C to a server with --output-dir while its job sets up (no step
    done yet, a large size): the page does not say its image is kept as a
    file, unless the server kept one (a step done after all)."""
    kept = tmp_path / "kept"
    srv = Server(tmp_path / "server.log", extra_args=("--output-dir", str(kept)))
    try:
        page = page_for(srv)
        status, job = srv.submit({"size": 1024, "iterations": LONG_RUN})
        assert status == 201, job
        expect(page.locator("#live")).to_have_attribute("data-state", "running", timeout=JOB_TIMEOUT_MS)
        srv.proc.send_signal(signal.SIGINT)
        srv.proc.wait(timeout=60)
    finally:
        srv.stop()
    expect(page.locator("#live-state")).to_have_text("stopped")
    note = page.locator("#live-error")
    files = [p.name for p in kept.iterdir()] if kept.exists() else []
    shown = page.locator("#iteration").inner_text()
    if shown.startswith("0 "):
        # None seen done: no promise of a file, whatever the server did.
        expect(note).to_contain_text("only if one was done after all")
    else:
        assert files, shown
        expect(note).to_contain_text(f"kept in the server's output folder, as {files[0]}")


def test_histogram_colours_come_back_after_the_fast_network(page, server):
    info = server.get_json("/api/info")
    assert info["fast"], "the server found no fast models (scripts/test fetches them; else run scripts/fetch-fast-models)"
    choose_images(page)
    set_settings(page, size=SMALL, iterations=2, preserve_colors="histogram")
    colors = page.locator("#preserve-colors")
    hint = page.locator("[data-testid=preserve-colors-hint]")
    expect(hint).to_be_hidden()
    # The network keeps colours by luminance only, and says so.
    page.select_option("#method", "fast")
    expect(colors).to_have_value("luminance")
    expect(page.locator("#preserve-colors option[value=histogram]")).to_be_disabled()
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("luminance only")
    expect(hint).to_contain_text("histogram choice comes back with the optimiser")
    expect(colors).to_have_attribute("aria-describedby", "preserve-colors-hint")
    # Back to the optimiser: the histogram again, and the job uses it.
    page.select_option("#method", "optimize")
    expect(colors).to_have_value("histogram")
    expect(hint).to_be_hidden()
    job, settings = start_sent(page)
    assert '"preserve_colors":"histogram"' in settings, settings
    wait_history(page, job["id"], "done")
    assert server.job(job["id"])["settings"]["preserve_colors"] == "histogram"
    # Held across a reload of the tab too.
    page.select_option("#method", "fast")
    expect(colors).to_have_value("luminance")
    changed = page.evaluate("Date.now()")
    page.wait_for_function(f"() => Number(document.body.dataset.draftSaved || 0) >= {changed}")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#method")).to_have_value("fast")
    page.select_option("#method", "optimize")
    expect(colors).to_have_value("histogram")
    # A colour chosen while the network is selected is the choice from then on.
    page.select_option("#method", "fast")
    page.select_option("#preserve-colors", "none")
    expect(hint).not_to_contain_text("comes back")
    page.select_option("#method", "optimize")
    expect(colors).to_have_value("none")


def test_screenshot_for_readme(browser, fresh_server, page_for, tmp_path):
    """The README's picture (1280x900): a finished job in the history, one running with its preview and cost plot, one queued."""
    srv = fresh_server
    page = page_for(srv)
    # No --output-dir: the page says the results go with the server.
    assert srv.get_json("/api/info")["keeps_results"] is False
    expect(page.locator("[data-testid=history-keeping]")).to_contain_text("kept only until the server stops")
    choose_images(page)
    # Starting from the photo without noise looks good after few iterations.
    set_settings(page, size=128, iterations=150, init_noise=0)
    wait_fits(page)
    first = start(page)
    wait_history(page, first["id"], "done")

    page.locator("[data-testid=style-thumb] .chip-remove").first.click()
    page.click("[data-testid=builtin-style][data-name=great_wave]")
    set_settings(page, iterations=600, strength=0.5)
    wait_fits(page)
    running = start(page)
    set_settings(page, strength=0, preserve_colors="luminance")
    queued = start(page)
    expect(page.locator(f"[data-testid=queue-item][data-job-id='{queued['id']}']")).to_be_visible()
    page.wait_for_function("() => parseInt(document.querySelector('#iteration').textContent) >= 60",
                           timeout=JOB_TIMEOUT_MS)
    p = page.evaluate(PREVIEW_STATE)
    next_preview(page, running["id"], p["seq"] if p else 0)
    page.locator("#advanced").evaluate("d => d.open = false")
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(0, 0)
    # docs/serve.png is written only on request (STYLIZE_SCREENSHOT=docs/serve.png),
    # so that a test run leaves the git tree clean.
    target = os.environ.get("STYLIZE_SCREENSHOT")
    out = (REPO / target if not os.path.isabs(target) else Path(target)) if target else tmp_path / "serve.png"
    page.screenshot(path=str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------- video
def _lzw_uncompressed(indices):
    """GIF image data for 2-bit colour indices: 3-bit codes, a clear code before every two
    literals so that the code width never grows (valid LZW, no compression)."""
    clear, eoi, width = 4, 5, 3
    codes = []
    for i in range(0, len(indices), 2):
        codes.append(clear)
        codes.extend(indices[i:i + 2])
    codes.append(eoi)
    out, acc, nbits = bytearray(), 0, 0
    for c in codes:
        acc |= c << nbits
        nbits += width
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    data = bytearray([2])  # LZW minimum code size
    for i in range(0, len(out), 255):
        block = out[i:i + 255]
        data.append(len(block))
        data += block
    data.append(0)
    return bytes(data)


def animated_gif(width=96, height=64, frames=4):
    """A looping GIF89a of `frames` frames: four colour bands that move with each frame."""
    palette = bytes([230, 60, 40, 40, 120, 220, 250, 210, 60, 30, 30, 30])
    gif = bytearray(b"GIF89a")
    gif += struct.pack("<HHBBB", width, height, 0b10000001, 0, 0)  # global palette of 4 colours
    gif += palette
    gif += b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"  # loop forever
    for f in range(frames):
        gif += b"\x21\xf9\x04\x04" + struct.pack("<H", 20) + b"\x00\x00"  # 0.2 s a frame
        gif += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
        shift = f * width // frames
        pixels = [(((x + shift) * 4 // width) + (y * 2 // height)) % 4 for y in range(height) for x in range(width)]
        gif += _lzw_uncompressed(pixels)
    gif += b"\x3b"
    return bytes(gif)


def test_video_job_frames(page, server, tmp_path):
    clip = tmp_path / "bands.gif"
    clip.write_bytes(animated_gif())
    page.set_input_files("#content-input", str(clip))
    expect(page.locator("[data-testid=content-thumb] .dims")).to_have_text("96×64")
    expect(page.locator("#as-video")).not_to_be_checked()  # a GIF is the user's call
    page.check("#as-video")
    page.click("[data-testid=builtin-style][data-name=starry_night]")
    expect(page.locator("[data-testid=style-thumb][data-kind=builtin]")).to_have_count(1)
    set_settings(page, size=SMALL, iterations=5)
    wait_fits(page)
    # The memory estimate is asked for a clip while the box is checked (the
    # fast network holds more for a clip than for a photo of its frames).
    def estimate_with(clip):
        return lambda r: "/api/estimate" in r.url and (r.post_data_json or {}).get("clip") is clip
    with page.expect_request(estimate_with(False)):
        page.uncheck("#as-video")
    with page.expect_request(estimate_with(True)):
        page.check("#as-video")
    wait_fits(page)
    # Record the multipart fields sent, and every frame number and preview shown.
    record_sent_fields(page)
    page.evaluate("""() => {
      window.__frames = [];
      window.__previews = [];
      const frame = document.querySelector('#frame');
      new MutationObserver(() => window.__frames.push(frame.textContent))
        .observe(frame, {childList: true, characterData: true, subtree: true});
      const img = document.querySelector('#preview');
      new MutationObserver(() => {
        if (img.dataset.kind === 'preview') window.__previews.push({seq: Number(img.dataset.seq), complete: img.complete});
      }).observe(img, {attributes: true, attributeFilter: ['src']});
    }""")
    job = start(page)
    job_id = job["id"]
    assert job["kind"] == "video", job
    sent = page.evaluate("window.__sent")
    assert ["video", "file:bands.gif"] in sent, sent
    assert not [k for k, _ in sent if k == "content"], sent

    item = wait_history(page, job_id, "done")
    done = server.job(job_id)
    assert done["kind"] == "video" and done["frames"] == 4 and done["frames_done"] == 4, done
    # The live panel: a clip's iterations are each frame's, and its title
    # is whole on hover.
    expect(page.locator("#iteration-label")).to_have_text("Iteration in frame")
    expect(page.locator("#live-job")).to_have_attribute("title", re.compile(rf"^#{job_id} "))

    frames = [int(m.group(1)) for t in page.evaluate("window.__frames")
              if (m := re.match(r"^frame (\d+) of 4$", t))]
    assert len(set(frames)) >= 2, frames
    assert frames == sorted(frames), frames
    previews = page.evaluate("window.__previews")
    seqs = [p["seq"] for p in previews]
    assert len(set(seqs)) >= 2, previews
    assert seqs == sorted(seqs) and all(p["complete"] for p in previews), previews
    assert page.watch.preview_max_inflight == 1, page.watch.preview_max_inflight

    # The history: the result GIF, downloaded as .gif.
    dl_link = item.locator("[data-testid=download-result]")
    expect(dl_link).to_have_attribute("href", f"/api/jobs/{job_id}/result")
    expect(item.locator(".compare-result")).to_have_js_property("complete", True)
    assert item.locator(".compare-result").evaluate("i => i.naturalWidth") > 0
    with page.expect_download() as dl:
        dl_link.click()
    path = tmp_path / "result.gif"
    dl.value.save_as(path)
    assert dl.value.suggested_filename.endswith(".gif"), dl.value.suggested_filename
    assert path.read_bytes()[:4] == b"GIF8"
    expect(item.locator("[data-testid=command]")).to_have_text(done["command"])

    # Run again: the clip comes back, to be sent as `video` again.
    page.uncheck("#as-video")
    item.locator("[data-testid=run-again]").click()
    expect(page.locator("#as-video")).to_be_checked()
    expect(page.locator("[data-testid=content-thumb] .dims")).to_have_text("96×64")


def gray_png(width, height, level):
    """A greyscale PNG of `width` x `height`, `level(x, y)` (0..255) a pixel."""
    rows = b"".join(b"\x00" + bytes(level(x, y) for x in range(width)) for y in range(height))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# The mean brightness (0..255) of a job's mask in each quarter of its
# width, read in the browser.
MASK_LEVELS = """async (url) => {
  const img = new Image();
  img.src = url;
  await img.decode();
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const sums = [0, 0, 0, 0], counts = [0, 0, 0, 0];
  let mixed = 0, min = 255;
  for (let i = 0; i < d.length; i += 4) {
    const q = Math.min(3, Math.floor(((i / 4) % c.width) * 4 / c.width));
    sums[q] += d[i]; counts[q] += 1;
    if (d[i] > 10 && d[i] < 245) mixed += 1;
    min = Math.min(min, d[i]);
  }
  return {levels: sums.map((s, q) => s / counts[q]), mixed, min, width: c.width, height: c.height};
}"""


def brush_left_quarter(page, box):
    """Four strokes, top to bottom, over the left quarter of the canvas at `box`."""
    for x in (0.03, 0.1, 0.17, 0.22):
        page.mouse.move(box["x"] + x * box["width"], box["y"] + 2)
        page.mouse.down()
        page.mouse.move(box["x"] + x * box["width"], box["y"] + box["height"] - 2, steps=8)
        page.mouse.up()


def test_brush_a_mask_then_run_again_with_it(page, server, tmp_path):
    choose_images(page)
    panel = page.locator("[data-testid=mask-panel]")
    expect(panel).to_be_visible()
    # A clip's mask is the same over every frame: it stays.
    page.check("#as-video")
    expect(panel).to_be_visible()
    page.uncheck("#as-video")
    expect(page.locator("[data-testid=mask-summary]")).to_have_text("all of it")
    panel.locator("summary").click()
    page.select_option("#method", "fast")
    page.fill("#size", "96")

    # Brush the left quarter of the photo, top to bottom, in a few strokes
    # (where the canvas was before the first: it must not move under the brush).
    canvas = page.locator("[data-testid=mask-canvas]")
    page.locator("#mask-size").fill("10")
    brush_left_quarter(page, canvas.bounding_box())
    expect(page.locator("#mask-on")).to_be_checked()
    summary = page.locator("[data-testid=mask-summary]")
    expect(summary).to_contain_text("% painted")
    painted = int(re.match(r"(\d+)%", summary.inner_text()).group(1))
    assert 15 <= painted <= 35, summary.inner_text()

    # Nothing painted is refused on the page.
    page.click("[data-testid=mask-invert]")
    page.click("[data-testid=mask-all]")
    expect(summary).to_contain_text("100% painted")
    page.click("[data-testid=mask-none]")
    expect(summary).to_contain_text("0% painted")
    wait_fits(page)
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("The mask paints nothing")
    # Invert twice is where it was: brushed in the left quarter again.
    page.click("#error-close")
    page.click("[data-testid=mask-all]")
    page.click("[data-testid=mask-eraser]")
    canvas.scroll_into_view_if_needed()
    brush_left_quarter(page, canvas.bounding_box())
    page.click("[data-testid=mask-invert]")
    expect(summary).to_contain_text(f"{painted}% painted")

    job, _ = start_sent(page)
    sent = page.evaluate("window.__sent")
    assert ["mask", "file:mask.png"] in sent, sent
    assert job["mask"]["name"] == "mask.png", job
    assert "--mask mask.png" in job["command"], job["command"]
    # What went up: white in the brushed quarter, black in the rest, in
    # the photo's shape.
    m = page.evaluate(MASK_LEVELS, job["mask"]["url"])
    assert abs(m["width"] / m["height"] - job["width"] / job["height"]) < 0.02, m
    # (the strokes reach 27% of the width: a little into the second quarter)
    q1, q2, q3, q4 = m["levels"]
    assert q1 > 200 and q2 < 50 and q3 < 2 and q4 < 2, m
    # Its edge softened (the default soft edge): greys between white and
    # black, many more than with no soft edge (antialiasing alone).
    page.locator("#mask-soft").fill("0")
    hard, _ = start_sent(page)
    h = page.evaluate(MASK_LEVELS, hard["mask"]["url"])
    assert m["mixed"] > 4 * h["mixed"] and h["levels"][0] > 200, (m, h)
    page.locator("#mask-soft").fill("1.5")
    # The soft edge leaves the picture's own border alone: "All" is white
    # to the edges.
    page.click("[data-testid=mask-all]")
    whole, _ = start_sent(page)
    w = page.evaluate(MASK_LEVELS, whole["mask"]["url"])
    assert w["min"] > 250, w
    wait_history(page, job["id"], "done")
    status, png = server.request("GET", f"/api/jobs/{job['id']}/result", expect=200)
    assert read_png(png) == (96, 64)

    # Another photo: no mask until one is brushed.
    page.set_input_files("#content-input", str(IMAGES / "coffee.jpg"))
    expect(page.locator("[data-testid=content-thumb]")).to_contain_text("coffee.jpg")
    expect(summary).to_have_text("all of it")
    expect(page.locator("#mask-on")).not_to_be_checked()

    # Run again brings the mask back, and sends the same bytes.
    history_item(page, job["id"]).locator("[data-testid=run-again]").click()
    expect(page.locator("#notice")).to_contain_text("mask")
    expect(page.locator("#mask-on")).to_be_checked()
    # (the mask sent, its edge softened: about the share brushed)
    expect(summary).to_have_text(re.compile(r"\d+% painted"))
    assert abs(int(re.match(r"(\d+)%", summary.inner_text()).group(1)) - painted) <= 2
    again, _ = start_sent(page)
    assert server.request("GET", again["mask"]["url"], expect=200)[1] == \
        server.request("GET", job["mask"]["url"], expect=200)[1]

    # A mask image loaded from a file goes up as that file (its name in
    # the command line): black on the left half, white on the right.
    sky = tmp_path / "right half.png"
    sky.write_bytes(gray_png(60, 40, lambda x, y: 255 if x >= 30 else 0))
    page.set_input_files("#mask-input", str(sky))
    expect(summary).to_contain_text("50% painted")
    third, _ = start_sent(page)
    assert ["mask", "file:right half.png"] in page.evaluate("window.__sent")
    assert "--mask 'right half.png'" in third["command"], third["command"]
    assert server.request("GET", third["mask"]["url"], expect=200)[1] == sky.read_bytes()
    # Unticked, no mask is sent.
    page.uncheck("#mask-on")
    expect(summary).to_have_text("all of it")
    fourth, _ = start_sent(page)
    assert fourth["mask"] is None and not [k for k, _ in page.evaluate("window.__sent") if k == "mask"]


def test_contact_sheet_of_every_style(page, server):
    choose_images(page, styles=())
    page.select_option("#method", "fast")
    page.fill("#size", str(SMALL))
    expect(page.locator("#start")).to_be_disabled()  # no style yet
    expect(page.locator("[data-testid=mask-panel]")).to_be_visible()
    page.check("[data-testid=sheet]")
    # No painting: the network's 26 styles, and no mask for a sheet.
    expect(page.locator("[data-testid=sheet-hint]")).to_contain_text("26 styles")
    expect(page.locator("[data-testid=mask-panel]")).to_be_hidden()
    job, settings = start_sent(page)
    assert '"sheet":true' in settings, settings
    assert job["iterations"] == 26, job
    builtin_sheet = job
    assert job["command"].startswith("stylize fast --sheet --content chelsea.jpg --output result.png"), job["command"]
    item = wait_history(page, job["id"], "done")
    expect(item).to_contain_text("contact sheet")
    # The live panel counts a sheet's tiles.
    expect(page.locator("#iteration-label")).to_have_text("Tile")
    expect(page.locator("#iteration")).to_have_text("26 / 26")
    sheet = item.locator("[data-testid=sheet-result] img")
    expect(sheet).to_have_js_property("complete", True)
    width, height = sheet.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    assert width > 2 * height, (width, height)  # 27 tiles of 64x43, seven a row
    expect(item.locator("[data-testid=compare]")).to_have_count(0)
    # Its title names what it tried, and its size is the sheet's, not the photo's.
    expect(item.locator(".history-title")).to_have_text(f"#{job['id']} chelsea.jpg × the 26 built-in styles")
    expect(item.locator(".history-meta")).to_contain_text(f"{width}×{height}")
    expect(item.locator(".history-meta")).not_to_contain_text(f"{job['width']}×{job['height']}")

    # Two paintings: one tile each, numbered in their order.
    for name in ("starry_night", "great_wave"):
        page.click(f"[data-testid=builtin-style][data-name={name}]")
    expect(page.locator("[data-testid=sheet-hint]")).to_contain_text("each of the 2 paintings")
    job, _ = start_sent(page)
    assert job["iterations"] == 2 and job["style_names"] == ["starry_night.jpg", "great_wave.jpg"], job
    wait_history(page, job["id"], "done")

    # Run again of the built-in styles' sheet drops the paintings chosen
    # (with them it would be a sheet of them).
    history_item(page, builtin_sheet["id"]).locator("[data-testid=run-again]").click()
    expect(page.locator("#notice")).to_contain_text(f"job #{builtin_sheet['id']} loaded")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(0)
    expect(page.locator("[data-testid=sheet-hint]")).to_contain_text("26 styles")
    # Run again brings the sheet back; unticked, the paintings are blended
    # into one picture again, and the mask's brush has the photo under it.
    page.uncheck("[data-testid=sheet]")
    history_item(page, job["id"]).locator("[data-testid=run-again]").click()
    expect(page.locator("[data-testid=sheet]")).to_be_checked()
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(2)
    page.uncheck("[data-testid=sheet]")
    panel = page.locator("[data-testid=mask-panel]")
    expect(panel).to_be_visible()
    panel.locator("summary").click()
    expect(page.locator("#mask-photo")).to_have_js_property("complete", True)
    assert page.locator("#mask-photo").evaluate("i => i.naturalWidth") == 451
    assert page.locator("[data-testid=mask-canvas]").bounding_box()["height"] > 100
    single, settings = start_sent(page)
    assert '"sheet"' not in settings and single["iterations"] == 1, (settings, single)


def active_id(page):
    return page.evaluate("() => document.activeElement === document.body ? 'BODY' : document.activeElement.id || document.activeElement.className")


def test_keyboard_focus_stays_and_the_jobs_progress_is_announced(page, server, tmp_path):
    """What a keyboard or screen reader user relies on: the focus never falls
    back to the page's top when the control that holds it is removed,
    disabled or hidden (a style's ×, Start while uploading, Cancel, the
    error's ×), the progress bar is a progressbar with its value, and a
    job's end is said in the status line."""
    other = IMAGES / "udnie.jpg"
    choose_images(page, styles=(STYLE, other))
    # Every button shown is a target of at least 24x24 px (WCAG 2.2,
    # 2.5.8); a style's × was 20x20, a finished job's copy button 23 px
    # high. (The jobs of the tests before this one are in the history.)
    small = page.evaluate("""() => [...document.querySelectorAll('button')]
        .filter(b => b.getClientRects().length > 0)
        .map(b => { const r = b.getBoundingClientRect();
                    return [b.id || b.className || b.textContent.trim(), r.width, r.height]; })
        .filter(([, w, h]) => w < 24 || h < 24)""")
    assert small == [], small
    # Removing a style by its ×: the focus goes to the next one's ×, then,
    # with none left, to the Style box.
    page.locator("#style-chosen .chip-remove").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(1)
    assert page.evaluate("() => document.activeElement.classList.contains('chip-remove')"), active_id(page)
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=style-thumb]")).to_have_count(0)
    assert active_id(page) == "style-zone", active_id(page)
    choose_images(page)

    # The strength slider is read as a factor, not as "0.1".
    set_settings(page, strength=1)
    expect(page.locator("#strength")).to_have_attribute("aria-valuetext", "10 times the style")

    # Start by the keyboard keeps the focus while the job uploads.
    set_settings(page, size=SMALL, iterations=LONG_RUN, strength=0)
    wait_fits(page)
    page.locator("#start").focus()
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as resp:
        page.keyboard.press("Enter")
    assert resp.value.status == 201
    job_id = resp.value.json()["id"]
    assert active_id(page) == "start", active_id(page)

    bar = page.locator("#progress")
    expect(bar).to_have_attribute("role", "progressbar")
    page.wait_for_function("() => Number(document.querySelector('#progress').getAttribute('aria-valuenow')) > 0",
                           timeout=JOB_TIMEOUT_MS)
    expect(bar).to_have_attribute("aria-valuetext", re.compile(r"^\d+%, \d+:\d\d left$"))

    # Cancel by the keyboard: the focus goes to the live card's title, and
    # the end is said.
    page.locator("#cancel").focus()
    page.keyboard.press("Enter")
    wait_history(page, job_id, "cancelled")
    expect(page.locator("#cancel")).to_be_disabled()
    assert active_id(page) == "live-title", active_id(page)
    expect(page.locator("#notice")).to_have_text(f"Job #{job_id} cancelled.")
    expect(page.locator("#preview")).to_have_attribute("alt", f"Result of job #{job_id}")

    # An error's × (or Escape) hides it and gives the focus back to the form.
    fake = tmp_path / "notes.jpg"
    fake.write_text("not a JPEG\n" * 20)
    choose_images(page, photo=fake, styles=())
    page.click("#start")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error-text")).to_have_attribute("role", "alert")
    page.locator("#error-close").focus()
    page.keyboard.press("Escape")
    expect(page.locator("#error")).to_be_hidden()
    assert active_id(page) == "start", active_id(page)


def test_a_narrow_window_keeps_focused_controls_clear_of_the_top_bar(page, server):
    """At 320 px (and 200% zoom) the sticky top bar wraps; a control reached
    backwards with Shift+Tab is scrolled clear of it, and the running job's
    card keeps its title and Cancel inside it."""
    page.set_viewport_size({"width": 320, "height": 568})
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.locator("#start").focus()
    hidden = []
    for _ in range(25):
        page.keyboard.press("Shift+Tab")
        covered = page.evaluate("""() => {
          const el = document.activeElement;
          if (el === document.body) return null;
          const bar = document.querySelector('.topbar').getBoundingClientRect();
          const r = el.getBoundingClientRect();
          if (r.width === 0 || el.closest('.topbar')) return null;
          return r.top < bar.bottom ? `${el.id || el.tagName} at ${r.top}, bar to ${bar.bottom}` : null;
        }""")
        if covered:
            hidden.append(covered)
    assert not hidden, hidden
    card = page.locator("#live").bounding_box()
    cancel = page.locator("#cancel").bounding_box()
    assert cancel["x"] + cancel["width"] <= card["x"] + card["width"], (cancel, card)
