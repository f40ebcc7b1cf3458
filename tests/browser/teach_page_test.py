#!/usr/bin/env python3
"""The teaching page in a real browser: headless Chromium, driven by Selenium, opens a page that
teach_html_fixture wrote from a hand-made explain document (tests/browser/*.json), clicks through
it as a person would (buttons, forms, arrow keys, a click on a port) and checks the DOM after
each action: the step shown, which bits carry `changed` (exactly), the walk, the FIFO queues'
port boxes in order, the port record. A screenshot of the page at the end goes to --screenshot.

usage: teach_page_test.py PAGE.html CASE --screenshot OUT.png [--chromium P] [--chromedriver P]
Exit status 77 (ctest: skipped) when Selenium, Chromium or chromedriver is missing."""
import argparse
import os
import shutil
import sys

SKIP = 77


def action(kind, *args):
    return (kind, args)


def expect(**kw):
    return kw


# Each case: (what to do, what the page must show afterwards). Keys of the expectations:
#   step        the step index shown (#step-index)
#   changed     {(map, dom, port)}: exactly the bitmap cells marked `changed`
#   set         {(map, dom, port)}: cells that must be set;  clear: cells that must not be
#   sel         {(dom, vcpu, which, bit): classes} selector bits (which: l1, l2, ready)
#   walk        {(dom, port)}: exactly the bitmap cells on the walk (pending and mask grids)
#   flag        {(dom, vcpu, name): text} upcall_pending / upcall_mask badges
#   queues      {(dom, vcpu, prio): [ports]}: exactly the queues drawn, each's port boxes in order
#   qchanged    {(dom, port)}: queue boxes that must carry `changed`
#   record      (dom, port, [texts], [steps]): the port record, texts in it, its step links
#   rows        {dom: [words]}: the bitmap rows drawn
#   arrows      number of flow arrows on the timeline
#   consistent  every change's `from` is the value the state held (the page counts those that are not)
#   at_most, last, last_but   the step shown, for a run of unknown length: min(i, last), the last
#               step, n steps before the last
CASES = {
    "2l": [
        (action("load"), expect(step=0, changed=set(), clear={("pending", 0, 69)}, arrows=2,
                                consistent=True)),
        (action("next", 4), expect(step=4, changed={("pending", 0, 69)},
                                   set={("pending", 0, 69), ("masked", 0, 70)})),
        (action("next", 1), expect(step=5, changed=set(),
                                   sel={(0, 0, "l1", 1): {"set", "changed"}},
                                   flag={(0, 0, "upcall_pending"): "upcall_pending 1"})),
        (action("kind", "scan"), expect(step=9, walk={(0, 69)},
                                        sel={(0, 0, "l1", 1): {"walk", "changed"}})),
        (action("next", 1), expect(step=10, changed={("pending", 0, 69)},
                                   clear={("pending", 0, 69)}, walk={(0, 69)})),
        (action("click_port", "pending", 0, 69),
         expect(record=(0, 69, ["interdomain", "remote dom", "evtchn_pending[1] bit 5"],
                        [4, 5, 9, 10, 11]))),
        (action("key", "ARROW_LEFT"), expect(step=9)),
        (action("key", "ARROW_RIGHT"), expect(step=10)),
        (action("prev", 2), expect(step=8, changed=set(),
                                   set={("pending", 0, 69)},
                                   flag={(0, 0, "upcall_mask"): "upcall_mask 1"})),
        (action("jump_step", 14), expect(step=14, changed={("pending", 0, 70)},
                                         set={("pending", 0, 70), ("masked", 0, 70)})),
        (action("next", 1), expect(step=15, changed={("masked", 0, 70)},
                                   set={("pending", 0, 70)}, clear={("masked", 0, 70)},
                                   sel={(0, 0, "l1", 1): {"set", "changed"}})),
        (action("jump_time", "ns", 5000), expect(step=13)),
        (action("port", 0, 70), expect(step=14)),
        (action("first"), expect(step=0, clear={("pending", 0, 69), ("pending", 0, 70)},
                                 set={("masked", 0, 70)})),
        (action("click_timeline_step", 3), expect(step=3, arrows=2)),
        (action("play_to_end", 19), expect(step=19, changed=set(),
                                           flag={(0, 0, "upcall_mask"): "upcall_mask 0"})),
    ],
    "3l": [
        (action("load"), expect(step=0, rows={0: [0, 64]}, set={("pending", 0, 5), ("masked", 0, 5)},
                                consistent=True)),
        (action("next", 2), expect(step=2, changed={("pending", 0, 4101)})),
        (action("next", 1), expect(step=3, sel={(0, 0, "l2", 64): {"set", "changed"},
                                                (0, 0, "l1", 1): {"set", "changed"}})),
        (action("jump_step", 6), expect(step=6, walk={(0, 4101)},
                                        sel={(0, 0, "l1", 1): {"walk"},
                                             (0, 0, "l2", 64): {"walk", "changed"}})),
        (action("next", 1), expect(step=7, changed={("pending", 0, 4101)},
                                   clear={("pending", 0, 4101)})),
        (action("click_port", "masked", 0, 4101),
         expect(record=(0, 4101, ["ipi", "L2 selector bit 64", "pending word 64 bit 5"],
                        [0, 1, 2, 3, 6, 7, 8]))),
    ],
    "fifo": [
        (action("load"), expect(step=0, queues={(0, 0, 7): [10, 11]}, set={("masked", 0, 30)},
                                clear={("pending", 0, 12)}, arrows=2, consistent=True)),
        (action("next", 1), expect(step=1, changed={("pending", 0, 12)},
                                   queues={(0, 0, 7): [10, 11]})),
        (action("next", 1), expect(step=2, changed=set(), queues={(0, 0, 7): [10, 11, 12]},
                                   qchanged={(0, 11), (0, 12)})),
        (action("next", 3), expect(step=5, queues={(0, 0, 4): [20], (0, 0, 7): [10, 11, 12]},
                                   sel={(0, 0, "ready", 4): {"set", "changed"},
                                        (0, 0, "ready", 7): {"set"}})),
        # A queue whose HEAD this step changed is drawn even when it is now empty.
        (action("kind", "consume"), expect(step=9, changed={("pending", 0, 20)},
                                           queues={(0, 0, 4): [], (0, 0, 7): [10, 11, 12]})),
        (action("click_queue_port", 0, 0, 7, 11),
         expect(record=(0, 11, ["ipi", "LINK=12", "P=1"], [2, 12]))),
        (action("next", 3), expect(step=12, queues={(0, 0, 7): [12]})),
        (action("next", 1), expect(step=13, queues={(0, 0, 7): []}, changed={("pending", 0, 12)})),
        (action("next", 1), expect(step=14, queues={})),
        (action("prev", 2), expect(step=12, queues={(0, 0, 7): [12]}, qchanged=set())),
    ],
    # The page `evsim run tests/scenarios/pingpong.ini --abi fifo --html` writes. The front end
    # d1 binds port 1 before its event array reaches it, so Xen holds that first event; its
    # unmask raises it, and d1v0's handler consumes it first. The next raise is d1's reply,
    # which goes pending on d0 port 1 and is linked into queue 7 of d0v0.
    "pingpong_fifo": [
        (action("load"), expect(step=0, consistent=True, queues={})),
        (action("kind", "consume"), expect(changed={("pending", 1, 1)},
                                           clear={("pending", 1, 1)})),
        (action("kind", "set_pending"), expect(changed={("pending", 0, 1)},
                                               set={("pending", 0, 1)},
                                               queues={(0, 0, 7): [1]})),
        (action("click_port", "pending", 0, 1),
         expect(record=(0, 1, ["interdomain", "remote dom"], None))),
    ],
    # Any run's page (e.g. one that evsim run --html wrote): it opens, its changes agree with
    # the states they start from, and stepping, the ends and a jump work without a script error.
    "any": [
        (action("load"), expect(step=0, consistent=True)),
        (action("next", 3), expect(at_most=3)),
        (action("last"), expect(last=True)),
        (action("prev", 1), expect(last_but=1)),
        (action("first"), expect(step=0)),
    ],
}


def open_browser(chromium, chromedriver):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=opts)


class Page:
    def __init__(self, driver, url):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        self.d, self.url, self.By, self.Keys = driver, url, By, Keys

    def css(self, sel):
        return self.d.find_elements(self.By.CSS_SELECTOR, sel)

    def one(self, sel):
        found = self.css(sel)
        if len(found) != 1:
            raise AssertionError("%d elements match %s, expected 1" % (len(found), sel))
        return found[0]

    def classes(self, e):
        return set((e.get_attribute("class") or "").split())

    def cell(self, m, dom, port):
        return self.one('.bitmap[data-map="%s"][data-dom="%d"] .bit[data-port="%d"]' % (m, dom, port))

    def submit(self, form, fields):
        for sel, value in fields:
            e = self.one(sel)
            if e.tag_name == "select":
                from selenium.webdriver.support.ui import Select
                Select(e).select_by_value(str(value))
            else:
                e.clear()
                e.send_keys(str(value))
        self.one("#%s button" % form).click()

    def do(self, kind, args):
        if kind == "load":
            self.d.get(self.url)
        elif kind in ("next", "prev"):
            for _ in range(args[0]):
                self.one("#btn-" + kind).click()
        elif kind in ("first", "last"):
            self.one("#btn-" + kind).click()
        elif kind == "key":
            self.one("body").send_keys(getattr(self.Keys, args[0]))
        elif kind == "kind":
            self.submit("form-kind", [("#find-kind", args[0])])
        elif kind == "jump_step":
            self.submit("form-step", [("#jump-step", args[0])])
        elif kind == "jump_time":
            self.submit("form-time", [("#jump-unit", args[0]), ("#jump-time", args[1])])
        elif kind == "port":
            self.submit("form-port", [("#find-dom", args[0]), ("#find-port", args[1])])
        elif kind == "click_port":
            self.cell(*args).click()
        elif kind == "click_queue_port":
            dom, vcpu, prio, port = args
            self.one('.queue[data-dom="%d"][data-vcpu="%d"][data-prio="%d"] .qport[data-port="%d"]'
                     % (dom, vcpu, prio, port)).click()
        elif kind == "click_timeline_step":
            self.one('#tl-svg circle[data-step="%d"]' % args[0]).click()
        elif kind == "play_to_end":
            from selenium.webdriver.support.ui import Select, WebDriverWait
            Select(self.one("#speed")).select_by_value("100")
            self.one("#btn-play").click()
            WebDriverWait(self.d, 20).until(
                lambda d: self.one("#step-index").text == str(args[0])
                and self.one("#btn-play").get_attribute("aria-pressed") == "false")
        else:
            raise ValueError("no action " + kind)

    def bitmap_cells(self, cls):
        return {(e.find_element(self.By.XPATH, "../..").get_attribute("data-map"),
                 int(e.get_attribute("data-dom")), int(e.get_attribute("data-port")))
                for e in self.css(".bitmap .bit." + cls)}

    def check(self, want):
        checks = {
            "step": self.check_step, "changed": self.check_changed, "set": self.check_set,
            "clear": self.check_clear, "sel": self.check_sel, "walk": self.check_walk,
            "flag": self.check_flag, "queues": self.check_queues, "qchanged": self.check_qchanged,
            "record": self.check_record, "rows": self.check_rows, "arrows": self.check_arrows,
            "consistent": self.check_consistent, "at_most": self.check_at_most,
            "last": self.check_last, "last_but": self.check_last_but,
        }
        for k, v in want.items():
            checks[k](v)

    def check_consistent(self, _):
        odd = self.one("#consistency").get_attribute("data-odd")
        assert odd == "0", "%s changes disagree with the state: %s" % (odd, self.one("#consistency").text)

    def steps(self):
        return int(self.one("#step-count").text)

    def check_at_most(self, i):
        self.check_step(min(i, max(0, self.steps() - 1)))

    def check_last(self, _):
        self.check_step(max(0, self.steps() - 1))

    def check_last_but(self, n):
        self.check_step(max(0, self.steps() - 1 - n))

    def check_step(self, i):
        got = self.one("#step-index").text
        assert got == str(i), "step shown %s, expected %d" % (got, i)

    def check_changed(self, cells):
        got = self.bitmap_cells("changed")
        assert got == cells, "cells marked changed: %s, expected %s" % (sorted(got), sorted(cells))

    def check_set(self, cells):
        for c in cells:
            assert "set" in self.classes(self.cell(*c)), "%s is not set" % (c,)

    def check_clear(self, cells):
        for c in cells:
            assert "set" not in self.classes(self.cell(*c)), "%s is set" % (c,)

    def check_sel(self, bits):
        for (dom, vcpu, which, bit), want in bits.items():
            e = self.one('.selector[data-sel="%s"][data-dom="%d"][data-vcpu="%d"] .bit[data-bit="%d"]'
                         % (which, dom, vcpu, bit))
            got = self.classes(e)
            assert want <= got, "%s bit %d of d%dv%d: classes %s, expected %s" % (
                which, bit, dom, vcpu, sorted(got), sorted(want))

    def check_walk(self, cells):
        got = {(m, d, p) for (m, d, p) in self.bitmap_cells("walk")}
        want = {(m, d, p) for (d, p) in cells for m in ("pending", "masked")}
        assert got == want, "walk cells %s, expected %s" % (sorted(got), sorted(want))

    def check_flag(self, flags):
        for (dom, vcpu, name), text in flags.items():
            e = self.one('.vcpu[data-dom="%d"][data-vcpu="%d"] .flag[data-flag="%s"]' % (dom, vcpu, name))
            assert e.text == text, "%s of d%dv%d shows %r, expected %r" % (name, dom, vcpu, e.text, text)

    def check_queues(self, queues):
        got = {}
        for q in self.css(".queue"):
            key = tuple(int(q.get_attribute(a)) for a in ("data-dom", "data-vcpu", "data-prio"))
            got[key] = [int(b.get_attribute("data-port")) for b in
                        q.find_elements(self.By.CSS_SELECTOR, ".qport")]
        assert got == queues, "queues %s, expected %s" % (got, queues)

    def check_qchanged(self, boxes):
        got = {(int(b.get_attribute("data-dom")), int(b.get_attribute("data-port")))
               for b in self.css(".qport.changed")}
        assert got == boxes, "queue boxes marked changed: %s, expected %s" % (sorted(got), sorted(boxes))

    def check_record(self, rec):
        dom, port, texts, steps = rec
        box = self.one("#port-record")
        assert box.is_displayed(), "the port record is hidden"
        assert (box.get_attribute("data-dom"), box.get_attribute("data-port")) == (str(dom), str(port))
        for t in texts:
            assert t in box.text, "the record of d%d port %d lacks %r:\n%s" % (dom, port, t, box.text)
        got = [int(a.get_attribute("data-step")) for a in box.find_elements(self.By.CSS_SELECTOR, "a[data-step]")]
        # None: a real run's page, whose step numbers the test does not fix; some must be there.
        assert got == steps if steps is not None else got, \
            "record links to steps %s, expected %s" % (got, steps)

    def check_rows(self, rows):
        for dom, words in rows.items():
            got = [int(r.get_attribute("data-word")) for r in
                   self.css('.bitmap[data-map="pending"][data-dom="%d"] .word' % dom)]
            assert got == words, "d%d draws rows %s, expected %s" % (dom, got, words)

    def check_arrows(self, n):
        got = len(self.css("#tl-svg .tl-arrow"))
        assert got == n, "%d flow arrows on the timeline, expected %d" % (got, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--chromium", default=shutil.which("chromium") or "")
    ap.add_argument("--chromedriver", default=shutil.which("chromedriver") or "")
    a = ap.parse_args()
    try:
        import selenium  # noqa: F401
    except ImportError:
        print("SKIPPED: python3-selenium is not installed (scripts/test.sh installs it)")
        return SKIP
    for what, path in (("chromium", a.chromium), ("chromium-driver", a.chromedriver)):
        if not path or not os.access(path, os.X_OK):
            print("SKIPPED: %s is not installed (scripts/test.sh installs it)" % what)
            return SKIP
    # A browser that is installed but cannot start (no /proc or /dev/shm in a chroot, no
    # loopback for chromedriver) says nothing about the page: skipped, saying why.
    try:
        driver = open_browser(a.chromium, a.chromedriver)
    except Exception as e:  # selenium's WebDriverException, or an OSError underneath
        print("SKIPPED: chromium cannot start here: %s" % str(e).strip().splitlines()[0])
        return SKIP
    try:
        page = Page(driver, "file://" + os.path.abspath(a.page))
        for n, ((kind, args), want) in enumerate(CASES[a.case]):
            page.do(kind, args)
            try:
                page.check(want)
            except AssertionError as e:
                driver.save_screenshot(a.screenshot)
                print("FAIL %s case %d (%s %s): %s" % (a.case, n, kind, args, e))
                return 1
            print("ok %s case %d: %s %s" % (a.case, n, kind, " ".join(map(str, args))))
        driver.save_screenshot(a.screenshot)
        errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
        if errors:
            print("FAIL: the page logged errors: %s" % errors)
            return 1
    finally:
        driver.quit()
    print("%d cases passed, screenshot %s" % (len(CASES[a.case]), a.screenshot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
