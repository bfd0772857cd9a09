// @openai/agents-realtime, as its guide shows it, against rtcore: a RealtimeAgent with a
// tool, one typed question, over the WebSocket transport. Every raw server event is
// printed as one JSON line, then a last line {"history": [...]} with the session's history.
//
//   node agents_realtime.mjs wss://localhost:PORT/v1/realtime?model=MODEL MODEL
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents-realtime';
import { z } from 'zod';

const [url, model] = process.argv.slice(2);

const getWeather = tool({
  name: 'get_weather',
  description: 'Get the current weather for a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => `Sunny in ${city}`,
});
const agent = new RealtimeAgent({ name: 'Weather', instructions: 'Answer briefly.', tools: [getWeather] });
const session = new RealtimeSession(agent, { transport: 'websocket', model });

let toolEnded = false;
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
session.on('history_updated', (history) => {
  const answered = history.some(
    (item) => item.type === 'message' && item.role === 'assistant' && item.status === 'completed'
      && JSON.stringify(item.content).includes('Sunny in Paris'),
  );
  if (toolEnded && answered) {
    console.log(JSON.stringify({ history }));
    session.close();
  }
});

await session.connect({ apiKey: 'sk-test', url });
session.sendMessage("What's the weather in Paris?");
setTimeout(() => {
  console.error('client error: timed out');
  process.exit(2);
}, 30000).unref();
