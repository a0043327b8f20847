// thread_locals.cpp: a C++ thread_local with a constructor and a destructor, as the
// thread-local tests need it: g++ guards it per thread, runs the constructor on the thread's
// first use and registers the destructor with __cxa_thread_atexit.
#include <atomic>

namespace {

constexpr int kInitialTally = 23;

std::atomic<long> constructed{0};
std::atomic<long> destroyed{0};

struct Tally {
    int value;
    Tally() : value(kInitialTally) { constructed.fetch_add(1); }
    ~Tally() { destroyed.fetch_add(1); }
};

thread_local Tally tally;

}  // namespace

extern "C" int spn_test_cxx_tally_fresh() { return tally.value == kInitialTally; }
extern "C" void spn_test_cxx_tally_dirty() { tally.value = kInitialTally + 1; }
extern "C" long spn_test_cxx_tallies_constructed() { return constructed.load(); }
extern "C" long spn_test_cxx_tallies_destroyed() { return destroyed.load(); }
