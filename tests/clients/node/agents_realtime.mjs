// @openai/agents-realtime, as its guide shows it, against rtcore: a RealtimeAgent with a
// tool over the WebSocket transport, told three things in turn: a typed greeting, a typed
// question its tool answers, then a spoken turn (the session's own voice detection). Every
// raw server event is printed as one JSON line, then a last line {"history": [...]} with
// the session's history.
//
//   node agents_realtime.mjs wss://localhost:PORT/v1/realtime?model=MODEL MODEL SPEECH.pcm
import { readFileSync } from 'node:fs';
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents-realtime';
import { z } from 'zod';

const [url, model, speechFile] = process.argv.slice(2);

const getWeather = tool({
  name: 'get_weather',
  description: 'Get the current weather for a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => `Sunny in ${city}`,
});
const agent = new RealtimeAgent({ name: 'Weather', instructions: 'Answer briefly.', tools: [getWeather] });
const session = new RealtimeSession(agent, { transport: 'websocket', model });

let toolEnded = false;
let step = 0;
let answerMs = 0; // of the agent's voice in the current step's answer (24 kHz PCM16)
session.on('audio', (event) => {
  answerMs += event.data.byteLength / 48;
});
session.on('transport_event', (event) => {
  if (event.type !== 'connection_change') console.log(JSON.stringify(event));
});
session.on('agent_tool_end', () => {
  toolEnded = true;
});
session.on('error', (err) => {
  console.error(`client error: ${JSON.stringify(err.error ?? err)}`);
  process.exitCode = 1;
});

function speak() {
  const pcm = readFileSync(speechFile);
  const chunk = 24000 * 2 / 10; // 100 ms at 24 kHz, the SDK's default input format
  for (let i = 0; i < pcm.length; i += chunk) {
    const part = pcm.subarray(i, i + chunk);
    session.sendAudio(part.buffer.slice(part.byteOffset, part.byteOffset + part.length));
  }
}

// Each step begins once the previous one has its answer in the history.
session.on('history_updated', (history) => {
  const answers = history.filter(
    (item) => item.type === 'message' && item.role === 'assistant' && item.status === 'completed',
  ).length;
  if (step === 0 && answers >= 1) {
    step = 1;
    answerMs = 0;
    session.sendMessage("What's the weather in Paris?");
  } else if (step === 1 && toolEnded && answers >= 2) {
    step = 2;
    // The user speaks once the answer has played out (as if heard), not over it.
    setTimeout(speak, answerMs + 200);
  } else if (step === 2 && answers >= 3) {
    step = 3;
    console.log(JSON.stringify({ history }));
    session.close();
  }
});

await session.connect({ apiKey: 'sk-test', url });
session.sendMessage('Hello there');
setTimeout(() => {
  console.error('client error: timed out');
  process.exit(2);
}, 45000).unref();
