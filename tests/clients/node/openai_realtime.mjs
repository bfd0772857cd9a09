// The openai npm package's OpenAIRealtimeWS, as its README shows it, against rtcore:
// a text turn, a tool turn in text, then a push-to-talk spoken turn. Every server event is printed as
// one JSON line; the Python test checks them.
//
//   node openai_realtime.mjs ga|beta https://localhost:PORT/v1 MODEL SPEECH.pcm
//
// The client always dials wss:// on baseURL; NODE_EXTRA_CA_CERTS trusts the test CA.
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';

const [dialect, baseURL, model, speechFile] = process.argv.slice(2);
const ga = dialect === 'ga';
const { OpenAIRealtimeWS } = await import(ga ? 'openai/realtime/ws' : 'openai/beta/realtime/ws');

const weather = {
  type: 'function',
  name: 'get_weather',
  description: 'Get the current weather for a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const session = ga
  ? {
      type: 'realtime',
      output_modalities: ['text'],
      tools: [weather],
      audio: { input: { turn_detection: null, transcription: { model: 'whisper-1' } } },
    }
  : {
      modalities: ['text'],
      tools: [weather],
      turn_detection: null,
      input_audio_transcription: { model: 'whisper-1' },
    };

const client = new OpenAI({ apiKey: 'sk-test', baseURL });
const rt = new OpenAIRealtimeWS({ model }, client);
let done = 0;

function speak() {
  const pcm = readFileSync(speechFile);
  const step = 24000 * 2 / 10; // 100 ms at 24 kHz, the SDK's default input format
  for (let i = 0; i < pcm.length; i += step) {
    rt.send({ type: 'input_audio_buffer.append', audio: pcm.subarray(i, i + step).toString('base64') });
  }
  rt.send({ type: 'input_audio_buffer.commit' });
  rt.send({ type: 'response.create' });
}

rt.on('event', (event) => {
  console.log(JSON.stringify(event));
  if (event.type === 'response.function_call_arguments.done') {
    const output = JSON.stringify({ weather: `Sunny in ${JSON.parse(event.arguments).city}` });
    rt.send({ type: 'conversation.item.create', item: { type: 'function_call_output', call_id: event.call_id, output } });
  } else if (event.type === 'response.done') {
    done += 1;
    if (done === 1) ask("What's the weather in Paris?");
    else if (done === 2) rt.send({ type: 'response.create' });
    else if (done === 3) speak();
    else rt.close();
  }
});
rt.on('error', (err) => {
  console.error(`client error: ${err.message}`);
  process.exitCode = 1;
  rt.close();
});
function ask(text) {
  rt.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
  });
  rt.send({ type: 'response.create' });
}

rt.socket.on('open', () => {
  rt.send({ type: 'session.update', session });
  ask('Hello there');
});
setTimeout(() => {
  console.error('client error: timed out');
  process.exit(2);
}, 30000).unref();
