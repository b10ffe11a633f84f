// landscape4d viewer: plays a .splatv with gsplat.js (bundled in this page) on a forward, wrapping clock.
//
// The stock gsplat.js VideoRenderProgram drives its `time` uniform with sin(now)/2 + 1/2, so a loop plays
// forwards and then backwards (water would flow uphill half the time). This page keeps the library unmodified and
// substitutes its own clock: it wraps the WebGL context so that every value written to a uniform named `time`
// is replaced by the page's sawtooth phase in [0, 1).
//
// Test hooks: window.landscape4d = { ready, error, frames, phase(), setPhase(t), play(), pause(), playing(),
// setSpeed(x), camera() }. URL parameters: ?t=0.25 starts at that phase, &paused=1 starts paused.

const CONFIG = JSON.parse(document.getElementById("landscape4d-config").textContent);
const params = new URLSearchParams(location.search);
const statusEl = document.getElementById("status");
const playButton = document.getElementById("play");
const speedInput = document.getElementById("speed");
const speedLabel = document.getElementById("speed-label");
const picker = document.getElementById("picker");
const canvas = document.getElementById("canvas");

const state = {
  ready: false,
  error: null,
  frames: 0,
  phase: Number.isFinite(parseFloat(params.get("t"))) ? ((parseFloat(params.get("t")) % 1) + 1) % 1 : 0,
  playing: !(params.get("paused") === "1"),
  speed: 1,
};
window.landscape4d = {
  get ready() { return state.ready; },
  get error() { return state.error; },
  get frames() { return state.frames; },
  phase: () => state.phase,
  setPhase: (t) => { if (Number.isFinite(t)) state.phase = ((t % 1) + 1) % 1; },
  play: () => setPlaying(true),
  pause: () => setPlaying(false),
  playing: () => state.playing,
  setSpeed: (x) => setSpeed(x),
  camera: () => ({ position: camera.position.flat(), rotation: camera.rotation.flat(), fx: camera.data.fx, fy: camera.data.fy }),
};

function setStatus(text) { statusEl.textContent = text; }
function setPlaying(on) {
  state.playing = on;
  playButton.textContent = on ? "❚❚ Pause" : "▶ Play";
  playButton.setAttribute("aria-pressed", on ? "false" : "true");
}
function setSpeed(x) {
  state.speed = Math.max(0, Number(x));
  speedInput.value = String(state.speed);
  speedLabel.textContent = `${state.speed.toFixed(2)}×`;
}

// The clock substitution: installed on the context before gsplat.js creates its programs.
const gl = canvas.getContext("webgl2", { antialias: false, preserveDrawingBuffer: true });
if (!gl) {
  state.error = "WebGL 2 is not available in this browser";
  setStatus(state.error);
  throw new Error(state.error);
}
const timeLocations = new WeakSet();
const getUniformLocation = gl.getUniformLocation.bind(gl);
const uniform1f = gl.uniform1f.bind(gl);
gl.getUniformLocation = (program, name) => {
  const location = getUniformLocation(program, name);
  if (name === "time" && location) timeLocations.add(location);
  return location;
};
gl.uniform1f = (location, value) => uniform1f(location, location && timeLocations.has(location) ? state.phase : value);

if (location.protocol === "file:") {
  // Opened from disk (an opaque origin), Chromium does not run module workers from blob: URLs, and the failure
  // is asynchronous. gsplat.js tries a blob: URL first and falls back to a data: URL when the constructor throws,
  // so make that first attempt throw.
  const NativeWorker = window.Worker;
  const PageWorker = function (url, options) {
    if (options && options.type === "module" && String(url).startsWith("blob:")) {
      throw new TypeError("module workers from blob: URLs do not run on file:// pages");
    }
    return new NativeWorker(url, options);
  };
  PageWorker.prototype = NativeWorker.prototype;
  window.Worker = PageWorker;
}

const source = document.getElementById("gsplat-source").textContent;
const SPLAT = await import(URL.createObjectURL(new Blob([source], { type: "text/javascript" })));

const renderer = new SPLAT.WebGLRenderer(canvas, []);  // no fade-in pass: the first frame is the scene
renderer.backgroundColor = new SPLAT.Color32(...CONFIG.background);
renderer.addProgram(new SPLAT.VideoRenderProgram(renderer));
const scene = new SPLAT.Scene();
const camera = new SPLAT.Camera();
camera.data.near = CONFIG.near;
camera.data.far = CONFIG.far;

function fitIntrinsics() {
  // Keep the photo's field of view: the whole source image fits the canvas (exact when sizes match).
  const s = Math.min(canvas.width / CONFIG.camera.width, canvas.height / CONFIG.camera.height);
  camera.data.fx = CONFIG.camera.fx * s;
  camera.data.fy = CONFIG.camera.fy * s;
}

function fixSortPositions(object) {
  // gsplat.js 1.2.9 SplatvData.Deserialize overwrites each x used for depth sorting with word 3 of the record;
  // restore it from word 0 (rendering itself reads the texture and is unaffected).
  const data = object.data;
  const words = new Float32Array(data.data.buffer, data.data.byteOffset, data.vertexCount * 16);
  for (let i = 0; i < data.vertexCount; i++) data.positions[3 * i] = words[16 * i];
}

async function loadScene() {
  const embedded = document.getElementById("splatv-data");
  if (embedded && embedded.textContent.trim()) {
    const response = await fetch(`data:application/octet-stream;base64,${embedded.textContent.trim()}`);
    return SPLAT.SplatvLoader.LoadFromFileAsync(new Blob([await response.arrayBuffer()]), scene, null, null);
  }
  return SPLAT.SplatvLoader.LoadAsync(CONFIG.file, scene, null, (p) => setStatus(`loading ${Math.round(p * 100)} %`));
}

async function loadFromUser(file) {
  scene.reset();
  const object = await SPLAT.SplatvLoader.LoadFromFileAsync(file, scene, null, null);
  start(object);
}

let controls = null;
function start(object) {
  fixSortPositions(object);
  if (controls) controls.dispose();
  controls = new SPLAT.OrbitControls(
    camera, canvas, CONFIG.orbit.alpha, CONFIG.orbit.beta, CONFIG.orbit.radius, true,
    new SPLAT.Vector3(...CONFIG.orbit.target),
  );
  controls.minZoom = CONFIG.orbit.minZoom;
  controls.maxZoom = CONFIG.orbit.maxZoom;
  controls.zoomSpeed = CONFIG.orbit.zoomSpeed;
  controls.panSpeed = CONFIG.orbit.panSpeed;
  picker.hidden = true;
  state.ready = true;
  setStatus(`${(CONFIG.splats ?? object.data.vertexCount).toLocaleString()} splats · loop ${CONFIG.loopSeconds.toFixed(2)} s`);
}

function resize() {
  const width = Math.max(1, Math.round(canvas.clientWidth));
  const height = Math.max(1, Math.round(canvas.clientHeight));
  if (canvas.width !== width || canvas.height !== height) renderer.setSize(width, height);
  fitIntrinsics();
}

let last = performance.now();
function frame(now) {
  const elapsed = Math.min(1.0, (now - last) / 1000);  // a tab returning from the background jumps ≤ 1 s
  last = now;
  if (state.playing) state.phase = (state.phase + (elapsed * state.speed) / CONFIG.loopSeconds) % 1;
  resize();
  if (state.ready) {
    controls.update();
    renderer.render(scene, camera);
    state.frames++;
  }
  requestAnimationFrame(frame);
}

playButton.addEventListener("click", () => setPlaying(!state.playing));
speedInput.addEventListener("input", () => setSpeed(speedInput.value));
window.addEventListener("keydown", (event) => {
  if (event.code === "Space") { event.preventDefault(); setPlaying(!state.playing); }
});
document.getElementById("file").addEventListener("change", (event) => {
  if (event.target.files.length) loadFromUser(event.target.files[0]).catch(showError);
});
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) loadFromUser(event.dataTransfer.files[0]).catch(showError);
});

function showError(error) {
  state.error = String(error);
  setStatus(`could not load the scene (${error}); open the .splatv file instead:`);
  picker.hidden = false;
}

setPlaying(state.playing);
setSpeed(1);
resize();
requestAnimationFrame(frame);
try {
  start(await loadScene());
} catch (error) {
  showError(error);
}
