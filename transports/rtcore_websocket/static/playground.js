// rtcore playground: an OpenAI Realtime (GA) client in plain browser JavaScript.
// WebRTC (the default): a client secret is minted with the key given, the microphone and
// the reply travel as Opus on the call, the events on the "oai-events" data channel; the
// key itself never opens the session. WebSocket (the fallback, or ?transport=websocket):
// microphone -> AudioWorklet -> PCM16 24 kHz -> input_audio_buffer.append;
// response.output_audio.delta -> Web Audio playback at 24 kHz. Server VAD decides turns.
// A message typed before connecting connects without the microphone, then is sent.
"use strict";

const RATE = 24000;
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// What happened, for people (the page) and for automated checks (window.rtcorePlayground).
const state = (window.rtcorePlayground = {
  status: "disconnected",
  samplesCaptured: 0,
  samplesScheduled: 0,
  responsesDone: 0,
  eventTypes: [],
  errors: [],
  transcript: [], // {role, text, itemId}
  transport: null, // "webrtc" or "websocket", once connected
  loudness: 0, // WebRTC: the reply's peak RMS on the call's track
});

let ws = null;
let rtc = null; // {pc, channel, stream, ctx}
let audio = null; // {ctx, stream, node, playHead, sources, item}; stream null: no microphone
let connecting = null; // the connection being made (a promise), or null

function setStatus(text) {
  state.status = text;
  $("status").textContent = text;
}

function log(text, cls) {
  const line = document.createElement("div");
  line.textContent = text;
  if (cls) line.className = cls;
  const box = $("log");
  box.append(line);
  while (box.childElementCount > 300) box.firstChild.remove();
  box.scrollTop = box.scrollHeight;
}

function transcriptLine(role, itemId) {
  let entry = state.transcript.find((e) => e.itemId === itemId && e.role === role);
  if (!entry) {
    entry = { role, itemId, text: "" };
    state.transcript.push(entry);
    // Not enumerable: window.rtcorePlayground stays plain JSON.
    Object.defineProperty(entry, "el", { value: document.createElement("p") });
    entry.el.className = role;
    entry.el.append(Object.assign(document.createElement("b"), { textContent: role + ": " }));
    entry.el.append(document.createElement("span"));
    $("transcript").append(entry.el);
  }
  return entry;
}

function addTranscript(role, itemId, text) {
  const entry = transcriptLine(role, itemId);
  entry.text += text;
  entry.el.lastChild.textContent = entry.text;
  $("transcript").parentElement.scrollTop = 1e9;
}

// -- audio encoding -------------------------------------------------------------------

function floatToBase64Pcm16(samples) {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64Pcm16ToFloat(b64) {
  const binary = atob(b64);
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  const out = new Float32Array(binary.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(i * 2, true) / 0x8000;
  return out;
}

// -- playback -------------------------------------------------------------------------

function play(itemId, b64) {
  const samples = base64Pcm16ToFloat(b64);
  if (!samples.length) return;
  const { ctx } = audio;
  const buffer = ctx.createBuffer(1, samples.length, RATE);
  buffer.copyToChannel(samples, 0);
  const source = ctx.createBufferSource();
  source.buffer = buffer;
  source.connect(ctx.destination);
  const start = Math.max(audio.playHead, ctx.currentTime);
  if (!audio.item || audio.item.id !== itemId) audio.item = { id: itemId, start, ms: 0 };
  source.start(start);
  audio.playHead = start + buffer.duration;
  audio.item.ms += buffer.duration * 1000;
  audio.sources.add(source);
  source.onended = () => audio && audio.sources.delete(source);
  state.samplesScheduled += samples.length;
}

// The user spoke over the reply: stop playing and tell the server how much was heard, so
// the conversation keeps only what the user heard.
function bargeIn() {
  if (!audio || !audio.item) return;
  const heardMs = Math.floor((audio.ctx.currentTime - audio.item.start) * 1000);
  for (const source of audio.sources) source.stop();
  audio.sources.clear();
  audio.playHead = 0;
  if (heardMs >= 0 && heardMs < audio.item.ms) {
    send({ type: "conversation.item.truncate", item_id: audio.item.id, content_index: 0, audio_end_ms: heardMs });
  }
  audio.item = null;
}

// -- the connection ---------------------------------------------------------------------

function send(event) {
  if (rtc && rtc.channel.readyState === "open") rtc.channel.send(JSON.stringify(event));
  else if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(event));
}

function sessionUpdate() {
  const output = { format: { type: "audio/pcm", rate: RATE } };
  const voice = $("voice").value.trim();
  if (voice) output.voice = voice;
  return {
    type: "session.update",
    session: {
      type: "realtime",
      output_modalities: ["audio"],
      audio: {
        // Transcription on, so that what the user said shows in the transcript.
        input: {
          format: { type: "audio/pcm", rate: RATE },
          turn_detection: { type: "server_vad" },
          transcription: { model: "whisper-1" },
        },
        output,
      },
    },
  };
}

function onEvent(event) {
  state.eventTypes.push(event.type);
  const t = event.type;
  if (t === "response.output_audio.delta" || t === "response.audio.delta") {
    play(event.item_id, event.delta);
    return; // too many to log
  }
  if (t === "input_audio_buffer.append") return;
  log(t + (event.item_id ? "  " + event.item_id : ""), t === "error" ? "error" : "");
  switch (t) {
    case "session.created":
    case "session.updated": {
      const voice = event.session.audio?.output?.voice ?? event.session.voice;
      if (voice && !$("voice").value) $("voice").placeholder = voice;
      break;
    }
    case "error":
      state.errors.push(event.error);
      log("  " + event.error.code + ": " + event.error.message, "error");
      break;
    case "input_audio_buffer.speech_started":
      if (!rtc) bargeIn(); // over WebRTC the server stops its own playback
      break;
    case "input_audio_buffer.committed":
      // The user's line goes where their turn is, before the reply: its transcript may
      // come after the reply's events (transcription runs alongside the response).
      transcriptLine("user", event.item_id).el.lastChild.textContent = "…";
      break;
    case "conversation.item.input_audio_transcription.completed":
      addTranscript("user", event.item_id, event.transcript);
      break;
    case "response.output_audio_transcript.delta":
    case "response.audio_transcript.delta":
    case "response.output_text.delta":
    case "response.text.delta":
      addTranscript("assistant", event.item_id, event.delta);
      break;
    case "response.done":
      state.responsesDone += 1;
      break;
  }
}

async function startPlayback() {
  // One context at 24 kHz for both directions: the browser resamples the microphone.
  const ctx = new AudioContext({ sampleRate: RATE });
  audio = { ctx, stream: null, node: null, playHead: 0, sources: new Set(), item: null };
  await ctx.resume();
}

async function startMicrophone() {
  const { ctx } = audio;
  await ctx.audioWorklet.addModule("/playground/capture-worklet.js");
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: false, autoGainControl: false },
  });
  const node = new AudioWorkletNode(ctx, "pcm-capture");
  node.port.onmessage = (e) => {
    state.samplesCaptured += e.data.length;
    send({ type: "input_audio_buffer.append", audio: floatToBase64Pcm16(e.data) });
  };
  const mute = ctx.createGain();
  mute.gain.value = 0; // keeps the worklet pulled without playing the microphone back
  ctx.createMediaStreamSource(stream).connect(node).connect(mute).connect(ctx.destination);
  Object.assign(audio, { stream, node });
}

// -- WebRTC -----------------------------------------------------------------------------

async function mintSecret(model, key) {
  const r = await fetch("/v1/realtime/client_secrets", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(key ? { Authorization: "Bearer " + key } : {}) },
    body: JSON.stringify({ session: { type: "realtime", model } }),
  });
  if (!r.ok) throw new Error(`client secret: ${r.status} ${await r.text()}`);
  return (await r.json()).value;
}

function listenTo(stream) {
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const v of samples) sum += v * v;
    state.loudness = Math.max(state.loudness, Math.sqrt(sum / samples.length));
  }, 20);
  return { ctx, timer };
}

async function connectWebRTC(model, key, wantMicrophone) {
  const secret = await mintSecret(model, key);
  const pc = new RTCPeerConnection();
  const channel = pc.createDataChannel("oai-events");
  rtc = { pc, channel, stream: null, meter: null };
  const speaker = Object.assign(document.createElement("audio"), { autoplay: true });
  pc.ontrack = (e) => {
    speaker.srcObject = e.streams[0];
    if (rtc) rtc.meter = listenTo(e.streams[0]);
  };
  let microphone = wantMicrophone;
  if (microphone) {
    try {
      rtc.stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      pc.addTrack(rtc.stream.getAudioTracks()[0], rtc.stream);
    } catch (err) {
      // No microphone: the reply still plays; type instead.
      microphone = false;
      log("no microphone (" + err.name + "): type instead", "");
    }
  }
  if (!microphone) pc.addTransceiver("audio", { direction: "recvonly" });
  channel.onmessage = (m) => onEvent(JSON.parse(m.data));
  channel.onclose = () => {
    log("call ended");
    hangUp();
  };
  const opened = new Promise((resolve) => (channel.onopen = resolve));
  await pc.setLocalDescription(await pc.createOffer());
  const r = await fetch("/v1/realtime/calls", {
    method: "POST",
    headers: { "Content-Type": "application/sdp", Authorization: "Bearer " + secret },
    body: pc.localDescription.sdp,
  });
  if (r.status !== 201) throw new Error(`call: ${r.status} ${await r.text()}`);
  rtc.location = r.headers.get("Location");
  await pc.setRemoteDescription({ type: "answer", sdp: await r.text() });
  await opened;
  state.transport = "webrtc";
  send(sessionUpdate());
  setStatus(statusText(microphone, wantMicrophone, " (WebRTC)"));
}

function statusText(microphone, wanted, how) {
  if (microphone) return "listening: speak" + how;
  return wanted ? "connected (no microphone: type instead)" : "connected: type a message";
}

function connected() {
  return (rtc && rtc.channel.readyState === "open") || (ws && ws.readyState === WebSocket.OPEN);
}

// Connect (once: a second call waits for the first), with or without the microphone.
function connect(wantMicrophone) {
  if (!connecting) {
    connecting = openConnection(wantMicrophone).finally(() => (connecting = null));
  }
  return connecting;
}

async function openConnection(wantMicrophone) {
  $("connect").disabled = true;
  setStatus("connecting");
  if (params.get("transport") !== "websocket") {
    try {
      await connectWebRTC($("model").value, $("key").value.trim(), wantMicrophone);
      $("disconnect").disabled = false;
      return;
    } catch (err) {
      log("WebRTC: " + err + "; falling back to WebSocket", "error");
      closeWebRTC();
    }
  }
  await connectWebSocket(wantMicrophone);
}

function closeWebRTC() {
  if (!rtc) return;
  const { pc, stream, meter } = rtc;
  rtc = null;
  if (meter) {
    clearInterval(meter.timer);
    meter.ctx.close();
  }
  if (stream) stream.getTracks().forEach((track) => track.stop());
  pc.close();
}

function connectWebSocket(wantMicrophone) {
  const model = $("model").value;
  const key = $("key").value.trim();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/v1/realtime?model=${encodeURIComponent(model)}`;
  const protocols = ["realtime"];
  if (key) protocols.push("openai-insecure-api-key." + key);
  ws = new WebSocket(url, protocols);
  return new Promise((resolve, reject) => {
    ws.onmessage = (m) => onEvent(JSON.parse(m.data));
    ws.onclose = (e) => {
      log(`socket closed (${e.code}${e.reason ? ": " + e.reason : ""})`, e.code === 1000 ? "" : "error");
      hangUp();
      reject(new Error("the socket closed"));
    };
    ws.onopen = async () => {
      state.transport = "websocket";
      send(sessionUpdate());
      await startPlayback();
      let microphone = false;
      if (wantMicrophone) {
        try {
          await startMicrophone();
          microphone = true;
        } catch (err) {
          state.errors.push({ code: "microphone", message: String(err) });
          log("microphone: " + err, "error");
        }
      }
      setStatus(statusText(microphone, wantMicrophone, ""));
      $("disconnect").disabled = false;
      resolve();
    };
  });
}

function hangUp() {
  closeWebRTC();
  if (ws) ws.close(1000);
  ws = null;
  if (audio) {
    if (audio.stream) audio.stream.getTracks().forEach((track) => track.stop());
    audio.ctx.close();
    audio = null;
  }
  $("connect").disabled = false;
  $("disconnect").disabled = true;
  setStatus("disconnected");
}

async function sendText(e) {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  $("text").value = "";
  if (!connected()) {
    try {
      await connect(false);
    } catch (err) {
      log("could not connect: " + err, "error");
      return;
    }
  }
  send({ type: "conversation.item.create", item: { type: "message", role: "user", content: [{ type: "input_text", text }] } });
  addTranscript("user", "typed-" + state.transcript.length, text);
  send({ type: "response.create" });
}

// OpenAI's voice names: a model without them uses its default voice instead.
const OPENAI_VOICES = ["alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"];
let models = {}; // name -> {voices, default_voice}

function showVoices() {
  const model = models[$("model").value];
  const voices = model && model.voices.length ? model.voices : OPENAI_VOICES;
  $("voices").replaceChildren(...voices.map((v) => new Option(v)));
  $("voice").placeholder = (model && model.default_voice) || "model default";
  state.voices = voices;
}

async function loadModels() {
  const wanted = params.get("model");
  const key = $("key").value.trim();
  models = {};
  try {
    const r = await fetch("/v1/models", { headers: key ? { Authorization: "Bearer " + key } : {} });
    if (r.ok) for (const m of (await r.json()).data) models[m.id] = m;
    else log(`GET /v1/models: ${r.status} (give the API key, or ?model=NAME in the page URL)`, "error");
  } catch (err) {
    log("GET /v1/models: " + err, "error");
  }
  const names = Object.keys(models);
  if (wanted && !names.includes(wanted)) names.unshift(wanted);
  $("model").replaceChildren(...names.map((n) => new Option(n, n, false, n === wanted)));
  showVoices();
}

$("model").addEventListener("change", showVoices);
$("voice").value = params.get("voice") || "";
$("key").value = params.get("key") || "";
$("key").addEventListener("change", loadModels);
$("connect").addEventListener("click", () => connect(true).catch((err) => log("could not connect: " + err, "error")));
$("disconnect").addEventListener("click", hangUp);
$("say").addEventListener("submit", sendText);
loadModels().then(() => (state.modelsLoaded = true));
