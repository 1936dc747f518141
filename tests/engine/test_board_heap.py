"""The linear memory on a small, fragmented board heap (issue 18), on the MicroPython unix port: a
dense memory whose bytes cannot grow in place (no free block as large as the grown memory) goes
paged instead of failing memory.grow, keeping its contents; a paged memory takes its first pages
ahead, before a run fragments the heap."""
from mp.runner import run_code

FRAGMENT = """
import gc
from mpwasi import runtime
def fragment():
    # the heap filled with 8 KiB blocks, every other one freed: half of it free, no large block
    blocks = []
    try:
        while True:
            blocks.append(bytearray(8192))
    except MemoryError:
        pass
    for i in range(0, len(blocks), 2):
        blocks[i] = None
    gc.collect()
    return blocks
"""


def test_a_dense_memory_that_cannot_grow_in_place_goes_paged(micropython):
    code = FRAGMENT + """
m = runtime.Memory(1, None, paged=False)
m._pageable = True  # (paged=False only made it start dense)
m.data[10] = 7
m.data[65535] = 9
keep = fragment()
try:
    bytearray(131072)
    print("a 128 KiB block is free: the test did not fragment the heap")
except MemoryError:
    pass
old = m.grow(1)
print(old, m.paged, m.pages, len(m.data), m.data[10], m.data[65535], m.data[65536], m.data[131071])
m.data[70000] = 5
print(m.data[70000], m.data.resident() <= 6 * 4096 + 4 * 4096)
"""
    r = run_code(code, heapsize="600K")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "1 True 2 131072 7 9 0 0\n5 True\n", r.stdout + r.stderr


def test_a_memory_made_dense_on_purpose_stays_dense_and_grow_fails(micropython):
    code = FRAGMENT + """
m = runtime.Memory(1, None, paged=False)
keep = fragment()
print(m.grow(1), m.paged, m.pages)
"""
    r = run_code(code, heapsize="600K")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "-1 False 1\n", r.stdout + r.stderr


def test_a_paged_memory_reserves_its_first_pages_while_the_heap_is_whole(micropython):
    code = FRAGMENT + """
m = runtime.Memory(2, None, paged=True)
print(len(m.data.spare), m.data.resident())
keep = fragment()
for a in (0, 70000, 131071, 4096 * 5):
    m.data[a] = 1   # pages from the reserve: no new block needed on the fragmented heap
print(len(m.data.spare), m.data[70000], m.data[1])
"""
    r = run_code(code, heapsize="600K")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "4 16384\n0 1 0\n", r.stdout + r.stderr


def test_pages_prefetched_before_loading_go_to_the_next_paged_memory(micropython):
    # mpwasi.run takes them before it reads the module (loading leaves a small heap in pieces);
    # a paged memory made later holds them, a dense one leaves them to drop_prefetched
    code = FRAGMENT + """
runtime.prefetch_pages()
first = list(runtime._PREFETCHED)
keep = fragment()
m = runtime.Memory(2, None, paged=True)
print(len(first), [any(p is q for q in first) for p in m.data.spare], len(runtime._PREFETCHED))
runtime.prefetch_pages()
print(len(runtime._PREFETCHED) <= 4)
runtime.drop_prefetched()
print(len(runtime._PREFETCHED))
"""
    r = run_code(code, heapsize="600K")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "4 [True, True, True, True] 0\nTrue\n0\n", r.stdout + r.stderr
