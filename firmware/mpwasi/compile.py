"""mpwasi.compile: the stable name of the fast tier's API (tools and boards are written against it).

    from mpwasi import compile as fast
    fast.find_aot("app.wasm")    # load and register app_<hash16>.mpy lying next to it, if any
    fast.use_aot(module)         # register an imported ahead-of-time module
    fast.report(instance)        # (compiled functions, {index: why it runs in the interpreter})
    fast.set_tier("fast")        # also mpwasi.set_tier; get_tier()

Only re-exports: the run-time side is fastrt.py, the code generator fastgen.py (not loaded here).
"""

from .fastrt import (find_aot, use_aot, load_aot, report, set_tier, get_tier, state_of,
                     module_hash, aot_name, AOT, AOT_FORMAT)
