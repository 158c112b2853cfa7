"""check_smoke must not pass a run that reaperd never took part in (python3 lab/analyze_test.py)."""
import contextlib
import io
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import analyze  # noqa: E402


def run(scenario, **kw):
    m = {"scenario": scenario, "contender": "reaperd", "died": [], "kill_ms": None,
         "probe_max_gap_ms": 100, "kernel_kills": 0, "all_intended": scenario == "fast_hog",
         "killed_by_kernel": 0, "collateral": [], "end_reason": "done", "daemon_alive": True}
    m.update(kw)
    return m


class CheckSmoke(unittest.TestCase):
    def check(self, runs):
        analyze.load_runs = lambda src: runs
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = analyze.check_smoke("src", "reaperd")
        return rc, out.getvalue()

    def test_passes_when_reaperd_ran_and_killed(self):
        rc, out = self.check([run("fast_hog", died=["hog(KILL,user)"]), run("cache_churn")])
        self.assertEqual(rc, 0, out)

    def test_fails_when_the_daemon_never_started(self):
        # The guest had no reaperd process: the kernel killed the hog, which proves nothing.
        rc, out = self.check([run("fast_hog", daemon_alive=None, killed_by_kernel=1),
                              run("cache_churn", daemon_alive=None)])
        self.assertEqual(rc, 1, out)
        self.assertIn("never started", out)

    def test_fails_when_the_kernel_killed_the_hog(self):
        rc, out = self.check([run("fast_hog", killed_by_kernel=1, kernel_kills=1),
                              run("cache_churn")])
        self.assertEqual(rc, 1, out)
        self.assertIn("kernel", out)


class GuestMissed(unittest.TestCase):
    """The harness's sampler is an mlocked thread ticking every 100 ms: time it did not run is
    the guest not running (a loaded TCG host), which a probe "stall" must not be blamed on."""

    def test_counts_the_time_beyond_two_ticks_between_samples(self):
        samples = [{"t": t} for t in (0, 100, 200, 7458, 7558, 7658, 9000)]
        # 7258 ms from 200 to 7458 and 1342 from 7658 to 9000, each less the 200 ms allowance.
        self.assertEqual(analyze.guest_missed_ms(samples, 1000, 9000), 7058 + 1142)

    def test_only_inside_the_run(self):
        samples = [{"t": t} for t in (0, 5000, 5100, 5200)]
        self.assertEqual(analyze.guest_missed_ms(samples, 5000, 5200), 0)

    def test_none_without_samples(self):
        self.assertIsNone(analyze.guest_missed_ms([], 0, 1000))


if __name__ == "__main__":
    unittest.main()
