"""Set-up every test shares."""
import signal

# A shell starts a background job with SIGINT ignored, and its children inherit that: run
# that way, a test's Ctrl-C (SIGINT to a child, as a terminal sends it to the foreground)
# would never arrive. The tests mean a terminal's Ctrl-C, so the children they start get
# SIGINT's default (a handler, unlike SIG_IGN, does not survive exec).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
