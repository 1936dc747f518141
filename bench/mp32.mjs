// Runs one MicroPython script on the 32-bit MicroPython webassembly port (bench/mp32.py drives it).
//   node bench/mp32.mjs JOB.json
// JOB: {"module": path of micropython.mjs, "heapsize": bytes, "dirs": [fs dir, ...],
//       "files": [[fs path, host path], ...], "script": fs path of the script to run,
//       "out": [[fs path, host path], ...] (files copied back to the host afterwards),
//       "argv": sys.argv for the script}
// The script's stdout and stderr go to this process's; the exit status is the script's
// (SystemExit code, 1 for an uncaught exception, whose traceback goes to stderr).
import fs from "node:fs";
import {pathToFileURL} from "node:url";

const job = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const {loadMicroPython} = await import(pathToFileURL(job.module).href);
const out = [];
const err = [];
const flush = () => {
    if (out.length) { fs.writeSync(1, Buffer.from(out)); out.length = 0; }
    if (err.length) { fs.writeSync(2, Buffer.from(err)); err.length = 0; }
};
const mp = await loadMicroPython({
    heapsize: job.heapsize, linebuffer: false,
    stdout: (d) => { for (const c of d) out.push(c); if (out.length > 4096) flush(); },
    stderr: (d) => { for (const c of d) err.push(c); if (err.length > 4096) flush(); },
});
for (const d of job.dirs) {
    try { mp.FS.mkdir(d); } catch (e) { /* exists */ }
}
for (const [dst, src] of job.files) mp.FS.writeFile(dst, fs.readFileSync(src));
// The script runs in pieces, split at lines "#mp32:collect": this port collects garbage only
// between runPython calls (gc.collect() inside one is put off until it returns), so each piece is
// its own call, sharing one globals dict.
const src = new TextDecoder().decode(mp.FS.readFile(job.script));
const lines = src.split("\n");
const pieces = [];
let cur = [];
for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === "#mp32:collect") {
        pieces.push(cur.join("\n"));
        cur = [];
        for (let j = 0; j <= i; j++) cur.push("");  // keep line numbers
    } else {
        cur.push(lines[i]);
    }
}
pieces.push(cur.join("\n"));
for (let i = 0; i < pieces.length; i++) mp.FS.writeFile("/.mp32-piece" + i, pieces[i]);
const runner = (i) => `
import sys
_rc = None
try:
    if ${i} == 0:
        _mp32_g = {"__name__": "__main__"}
        sys.argv[:] = ${JSON.stringify(job.argv || [job.script])}
    with open("/.mp32-piece${i}") as _f:
        _src = _f.read()
    exec(compile(_src, ${JSON.stringify(job.script)}, "exec"), _mp32_g)
    _src = None
except SystemExit as _e:
    _c = _e.args[0] if _e.args else 0
    if _c is None:
        _c = 0
    elif not isinstance(_c, int):
        sys.stderr.write(str(_c) + "\\n")
        _c = 1
    _rc = _c
except BaseException as _e:
    sys.print_exception(_e, sys.stderr)
    _rc = 1
with open("/.mp32-rc", "w") as _f:
    _f.write("" if _rc is None else str(_rc))
_rc = _e = _f = None
`;
let rc = 1;
try {
    for (let i = 0; i < pieces.length; i++) {
        mp.runPython(runner(i));
        const r = new TextDecoder().decode(mp.FS.readFile("/.mp32-rc"));
        rc = r === "" ? 0 : parseInt(r, 10);
        if (r !== "") break;
    }
    for (const [src, dst] of job.out || []) {
        try { fs.writeFileSync(dst, mp.FS.readFile(src)); } catch (e) { /* not written */ }
    }
} catch (e) {
    err.push(...Buffer.from(String(e && e.message || e) + "\n"));
}
flush();
process.exit(rc);
