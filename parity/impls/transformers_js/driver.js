// Node side of vlm-parity's transformers-js impl: runs the real transformers.js image processors.
//
// Started once per run or sweep by runtime.py as `node driver.js <node_modules dir>`. Protocol: one JSON
// request per line on stdin, one JSON reply per line on stdout (nothing else is ever written there: the
// library's console output goes to stderr). Arrays travel as raw little-endian files written into the
// request's `out` directory; the reply names each file with its dtype and shape.
//
// Requests:
//   {"id", "cmd": "hello"}  -> versions of Node, transformers.js, sharp/libvips, onnxruntime-node, and the
//                              image processor classes transformers.js exports
//   {"id", "cmd": "run", "class", "kind", "config", "image": {"path"} | {"raw", "width", "height"},
//    "out", "observe"}      -> the processor built from `config` (no hub access) run on the image
//
// How stages are observed: the processor object is built fresh for each request, and when `observe` is
// true its own methods are wrapped on that instance only (`observe` below) to record what they return:
// the library's code runs unchanged, in its own order, on its own intermediates. `observe: false` runs
// the same request with no wrapper (the tests check both give the same bytes).
//
// Source read: @huggingface/transformers 4.3.2, src/image_processors_utils.js (ImageProcessor.preprocess,
// _call), src/utils/image.js (RawImage.read -> sharp(...).rotate().raw(); RawImage.resize),
// src/models/{qwen2_vl,idefics3,gemma4}/image_processing_*.js.

import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const stderr = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
console.log = stderr;
console.info = stderr;
console.debug = stderr;

const NODE_MODULES = process.argv[2];
const manifest = (name) => JSON.parse(fs.readFileSync(path.join(NODE_MODULES, name, 'package.json'), 'utf8'));
const importFrom = (name, entry) => import(pathToFileURL(path.join(NODE_MODULES, name, entry)).href);

const tjsManifest = manifest('@huggingface/transformers');
const tjs = await importFrom('@huggingface/transformers', tjsManifest.exports.node.import.default);
const sharpManifest = manifest('sharp');
const sharp = (await importFrom('sharp', sharpManifest.exports['.'].import.default)).default;

// Processors are built from config objects; nothing may be fetched or read as a model.
tjs.env.allowRemoteModels = false;
tjs.env.allowLocalModels = false;

const VERSIONS = {
    node: process.versions.node,
    '@huggingface/transformers': tjsManifest.version,
    sharp: sharpManifest.version,
    libvips: sharp.versions.vips,
    'onnxruntime-node': manifest('onnxruntime-node').version,
};

/** Wrap `target[method]` on this object only; `onResult(value, args)` sees every (awaited) result. */
function observe(target, method, onResult) {
    const original = target[method];
    target[method] = function (...args) {
        const result = original.apply(this, args);
        if (result instanceof Promise) {
            return result.then((value) => {
                onResult(value, args);
                return value;
            });
        }
        onResult(result, args);
        return result;
    };
}

/** Arrays written as raw files the moment they are observed (later in-place edits cannot change them). */
class Recorder {
    constructor(dir) {
        this.dir = dir;
        this.arrays = {};
        this.info = {};
    }

    write(name, data, dtype, shape) {
        if (Array.isArray(data)) {
            // e.g. image_grid_thw: an int64 Tensor built from a plain JS array
            data = dtype === 'int64' ? BigInt64Array.from(data, BigInt) : dtype === 'float32' ? Float32Array.from(data) : Uint8Array.from(data);
        }
        const file = path.join(this.dir, `${name}.bin`);
        fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        this.arrays[name] = { file, dtype, shape: [...shape] };
    }

    tensor(name, t) {
        this.write(name, t.data, t.type, t.dims);
    }

    image(name, img) {
        this.write(name, img.data, 'uint8', [img.height, img.width, img.channels]);
    }
}

// What each processor kind lets us see, recorded under the names runtime.py expects.
const OBSERVERS = {
    // ImageProcessor.preprocess: rgb -> this.resize -> [image.center_crop] -> rescale -> normalize -> [pad]
    base(proc, rec) {
        observe(proc, 'resize', (img) => {
            rec.image('resize', img);
            observe(img, 'center_crop', (crop) => rec.image('center_crop', crop));
        });
        observe(proc, 'preprocess', (r) => rec.tensor('preprocessed', r.pixel_values));
    },
    // Qwen2VLImageProcessor: smart_resize through get_resize_output_image_size ([width, height]), then base
    qwen2_vl(proc, rec) {
        observe(proc, 'get_resize_output_image_size', ([width, height]) => {
            rec.info.resized = [height, width];
        });
        OBSERVERS.base(proc, rec);
    },
    // Idefics3ImageProcessor: base preprocess (longest edge), then the canvas and the split on floats. Its
    // preprocess result (the whole normalized image, before the tile resize) is not a stage of the recipe
    // (stages.py records the split frames), so only the resize is observed: no ~50 MB file per case for nothing
    idefics3(proc, rec) {
        observe(proc, 'resize', (img) => rec.image('resize', img));
        observe(proc, 'get_resize_for_vision_encoder', ({ height, width }) => {
            rec.info.canvas = [height, width];
        });
        observe(proc, 'split_image', (r) => {
            rec.info.grid = [r.num_splits_h, r.num_splits_w];
            rec.info.num_frames = r.frames.length;
        });
    },
    // Lfm2VlImageProcessor._call: base preprocess (rescale, normalize) on the whole image, then tiles and the
    // thumbnail resized on floats (interpolate_4d); its row/column/size outputs are switched on to see the grid
    lfm2_vl(proc, rec) {
        OBSERVERS.base(proc, rec);
        proc.return_row_col_info = true;
    },
    // Gemma4ImageProcessor._call resizes the RawImage it is given (image.resize) and patchifies privately
    gemma4(proc, rec, image) {
        observe(image, 'resize', (img) => rec.image('resize', img));
    },
};

async function readImage(spec, rec) {
    if (spec.path !== undefined) {
        // what users call: RawImage.read -> sharp decode with EXIF auto-orientation (.rotate())
        const image = await tjs.RawImage.read(spec.path);
        rec.info.decoded_channels = image.channels;
        return image;
    }
    const buf = fs.readFileSync(spec.raw);
    return new tjs.RawImage(new Uint8ClampedArray(buf.buffer, buf.byteOffset, buf.byteLength), spec.width, spec.height, 3);
}

async function run(req) {
    const cls = tjs[req.class];
    if (typeof cls !== 'function') {
        throw new Error(`transformers.js ${VERSIONS['@huggingface/transformers']} exports no ${req.class}`);
    }
    const proc = new cls(req.config);
    const rec = new Recorder(req.out);
    const image = await readImage(req.image, rec);
    if (proc.do_convert_rgb) {
        image.rgb(); // the processor's own first step (in place); a no-op when it repeats it
    }
    rec.image('decode', image);
    if (req.observe) {
        OBSERVERS[req.kind](proc, rec, image);
    }
    const out = await proc(image);
    for (const [key, value] of Object.entries(out)) {
        if (value instanceof tjs.Tensor) {
            rec.tensor(`out.${key}`, value);
        } else {
            rec.info[`out.${key}`] = value;
        }
    }
    return { arrays: rec.arrays, info: rec.info };
}

async function handle(req) {
    if (req.cmd === 'hello') {
        const classes = Object.keys(tjs).filter((k) => k.endsWith('ImageProcessor'));
        return { versions: VERSIONS, classes };
    }
    if (req.cmd === 'run') {
        return await run(req);
    }
    throw new Error(`unknown command ${JSON.stringify(req.cmd)}`);
}

const jsonSafe = (_key, value) => (typeof value === 'bigint' ? Number(value) : value);
const firstLine = (e) => String(e?.message ?? e).split('\n')[0];

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
    if (!line.trim()) continue;
    let req = null;
    let reply;
    try {
        req = JSON.parse(line);
        reply = { id: req.id, ok: true, ...(await handle(req)) };
    } catch (e) {
        reply = { id: req?.id ?? null, ok: false, error: firstLine(e) };
    }
    process.stdout.write(JSON.stringify(reply, jsonSafe) + '\n');
}
process.exit(0);
