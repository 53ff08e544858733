# tests/local.mk — unit tests (cmocka), integration tests (real processes on loopback),
# conformance runners and fuzz replays. Rooms add their own tests in their fragments;
# what is shared by all tests lives here.
IG_TEST_CC = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBEVENT_CFLAGS)
IG_TEST_LINK = sdk/libignis.la $(CMOCKA_LIBS)
EXTRA_DIST += tests/lib.sh
