// Drives third-party client libraries through the gateway and prints one
// JSON line per check: {client, check, model, ok, text, tools, status,
// type, code, param, error}. It asserts nothing itself:
// internal/e2e/clients_test.go starts the gateway over fake upstreams, runs
// this script and judges each line.
//
// Environment: FULCRUM_URL (the gateway's root URL), FULCRUM_KEY (a key it
// accepts), MODELS (comma-separated gateway model names), CHECKS (optional
// comma-separated check names to run; all by default).
import OpenAI from "openai";
import Anthropic from "@anthropic-ai/sdk";
import { generateText, streamText, tool, jsonSchema, stepCountIs } from "ai";
import { createOpenAI } from "@ai-sdk/openai";
import { createAnthropic } from "@ai-sdk/anthropic";
import { ChatOpenAI } from "@langchain/openai";
import { ChatAnthropic } from "@langchain/anthropic";
import { Agent, run, tool as agentTool, setTracingDisabled, OpenAIResponsesModel, OpenAIChatCompletionsModel } from "@openai/agents";
import { z } from "zod";

const base = process.env.FULCRUM_URL;
const key = process.env.FULCRUM_KEY;
const models = (process.env.MODELS || "").split(",").filter(Boolean);
const only = new Set((process.env.CHECKS || "").split(",").filter(Boolean));
if (!base || !key || models.length === 0) {
  console.error("FULCRUM_URL, FULCRUM_KEY and MODELS are required");
  process.exit(2);
}

const oai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0, timeout: 30_000 });
const ant = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 30_000 });
const aiOpenAI = createOpenAI({ baseURL: `${base}/v1`, apiKey: key });
const aiAnthropic = createAnthropic({ baseURL: `${base}/v1`, apiKey: key });

// The Agents SDK would otherwise export traces to api.openai.com.
setTracingDisabled(true);

const weather = {
  type: "object",
  properties: { location: { type: "string" }, unit: { type: "string" } },
  required: ["location"],
};

// Each check returns {text, tools?} or throws.
const checks = {
  // The official OpenAI SDK: Chat Completions and the Responses API.
  "openai.chat": async (model) => {
    const r = await oai.chat.completions.create({ model, messages: [{ role: "user", content: "say pong" }] });
    return { text: r.choices[0].message.content, usage: r.usage?.total_tokens };
  },
  "openai.chat.stream": async (model) => {
    const s = await oai.chat.completions.create({
      model, stream: true, stream_options: { include_usage: true },
      messages: [{ role: "user", content: "stream pong" }],
    });
    let text = "", usage;
    for await (const c of s) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage.total_tokens;
    }
    return { text, usage };
  },
  "openai.responses": async (model) => {
    const r = await oai.responses.create({ model, instructions: "Be brief.", input: "say pong", max_output_tokens: 256 });
    if (r.status !== "completed") throw new Error(`status ${r.status}`);
    return { text: r.output_text, usage: r.usage?.total_tokens };
  },
  "openai.responses.stream": async (model) => {
    const s = await oai.responses.create({ model, input: [{ role: "user", content: "stream pong" }], stream: true });
    let text = "", done = false, usage;
    const types = new Set();
    for await (const e of s) {
      types.add(e.type);
      if (e.type === "response.output_text.delta") text += e.delta;
      if (e.type === "response.completed") { done = true; usage = e.response.usage?.total_tokens; }
    }
    if (!done) throw new Error(`no response.completed; saw ${[...types].join(" ")}`);
    for (const t of ["response.created", "response.output_item.added", "response.output_item.done"]) {
      if (!types.has(t)) throw new Error(`no ${t}; saw ${[...types].join(" ")}`);
    }
    return { text, usage };
  },
  "openai.responses.tools": async (model) => {
    const tools = [{ type: "function", name: "get_weather", description: "Weather of a place", parameters: weather, strict: false }];
    const input = [{ role: "user", content: "weather in Paris?" }];
    const r1 = await oai.responses.create({ model, input, tools });
    const call = r1.output.find((o) => o.type === "function_call");
    if (!call) throw new Error(`no function_call in ${JSON.stringify(r1.output)}`);
    // The second turn sends the whole conversation back, as Codex does.
    const r2 = await oai.responses.create({
      model, tools,
      input: [...input, call, { type: "function_call_output", call_id: call.call_id, output: "sunny, 21C" }],
    });
    return { text: r2.output_text, tools: [`${call.name} ${call.arguments}`] };
  },
  "openai.responses.previous": async (model) => {
    // A conversation continued by id, as the Agents SDK and LangChain do.
    const r1 = await oai.responses.create({ model, input: "remember pong" });
    const r2 = await oai.responses.create({ model, previous_response_id: r1.id, input: "say pong" });
    const got = await oai.responses.retrieve(r2.id);
    if (got.id !== r2.id || got.output_text !== r2.output_text) throw new Error(`retrieve gave ${JSON.stringify(got).slice(0, 200)}`);
    return { text: r2.output_text };
  },
  // The official Anthropic SDK.
  "anthropic.messages": async (model) => {
    const r = await ant.messages.create({ model, max_tokens: 256, system: "Be brief.", messages: [{ role: "user", content: "say pong" }] });
    return { text: r.content.filter((b) => b.type === "text").map((b) => b.text).join(""), usage: r.usage.output_tokens };
  },
  "anthropic.stream": async (model) => {
    const s = ant.messages.stream({ model, max_tokens: 256, messages: [{ role: "user", content: "stream pong" }] });
    const m = await s.finalMessage();
    return { text: m.content.filter((b) => b.type === "text").map((b) => b.text).join(""), usage: m.usage.output_tokens };
  },
  "anthropic.tools": async (model) => {
    const tools = [{ name: "get_weather", description: "Weather of a place", input_schema: weather }];
    const messages = [{ role: "user", content: "weather in Paris?" }];
    const r1 = await ant.messages.create({ model, max_tokens: 256, tools, messages });
    const use = r1.content.find((b) => b.type === "tool_use");
    if (!use) throw new Error(`no tool_use in ${JSON.stringify(r1.content)}`);
    const r2 = await ant.messages.create({
      model, max_tokens: 256, tools,
      messages: [...messages, { role: "assistant", content: r1.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "sunny, 21C" }] }],
    });
    return { text: r2.content.filter((b) => b.type === "text").map((b) => b.text).join(""), tools: [`${use.name} ${JSON.stringify(use.input)}`] };
  },
  "anthropic.thinking.stream": async (model) => {
    const s = ant.messages.stream({
      model, max_tokens: 2048, thinking: { type: "enabled", budget_tokens: 1024 },
      messages: [{ role: "user", content: "think about pong" }],
    });
    const m = await s.finalMessage();
    return { text: m.content.filter((b) => b.type === "text").map((b) => b.text).join("") };
  },
  // The Vercel AI SDK: openai(model) speaks the Responses API, openai.chat
  // Chat Completions; anthropic(model) the Messages API.
  "ai.responses": async (model) => {
    const r = await generateText({ model: aiOpenAI(model), prompt: "say pong", maxRetries: 0 });
    return { text: r.text, usage: r.usage?.totalTokens };
  },
  "ai.responses.stream": async (model) => {
    const r = streamText({ model: aiOpenAI(model), prompt: "stream pong", maxRetries: 0, onError: () => {} });
    let text = "";
    for await (const t of r.textStream) text += t;
    return { text, usage: (await r.usage)?.totalTokens };
  },
  "ai.responses.tools": async (model) => {
    const r = await generateText({
      model: aiOpenAI(model), prompt: "weather in Paris?", maxRetries: 0, stopWhen: stepCountIs(2),
      tools: { get_weather: tool({ description: "Weather of a place", inputSchema: jsonSchema(weather), execute: async () => "sunny, 21C" }) },
    });
    const calls = r.steps.flatMap((s) => s.toolCalls).map((c) => `${c.toolName} ${JSON.stringify(c.input)}`);
    return { text: r.text, tools: calls };
  },
  "ai.chat": async (model) => {
    const r = await generateText({ model: aiOpenAI.chat(model), prompt: "say pong", maxRetries: 0 });
    return { text: r.text, usage: r.usage?.totalTokens };
  },
  "ai.anthropic": async (model) => {
    const r = await generateText({ model: aiAnthropic(model), prompt: "say pong", maxRetries: 0 });
    return { text: r.text, usage: r.usage?.totalTokens };
  },
  "ai.anthropic.stream": async (model) => {
    const r = streamText({ model: aiAnthropic(model), prompt: "stream pong", maxRetries: 0, onError: () => {} });
    let text = "";
    for await (const t of r.textStream) text += t;
    return { text };
  },
  // LangChain.
  "langchain.responses": async (model) => {
    const m = new ChatOpenAI({ model, apiKey: key, configuration: { baseURL: `${base}/v1` }, useResponsesApi: true, maxRetries: 0 });
    const r = await m.invoke("say pong");
    return { text: typeof r.content === "string" ? r.content : r.content.map((p) => p.text ?? "").join("") };
  },
  "langchain.responses.stream": async (model) => {
    const m = new ChatOpenAI({ model, apiKey: key, configuration: { baseURL: `${base}/v1` }, useResponsesApi: true, maxRetries: 0 });
    let text = "";
    for await (const c of await m.stream("stream pong")) {
      text += typeof c.content === "string" ? c.content : c.content.map((p) => p.text ?? "").join("");
    }
    return { text };
  },
  "langchain.chat": async (model) => {
    const m = new ChatOpenAI({ model, apiKey: key, configuration: { baseURL: `${base}/v1` }, maxRetries: 0 });
    const r = await m.invoke("say pong");
    return { text: r.content };
  },
  "langchain.anthropic": async (model) => {
    const m = new ChatAnthropic({ model, apiKey: key, anthropicApiUrl: base, maxRetries: 0 });
    const r = await m.invoke("say pong");
    return { text: typeof r.content === "string" ? r.content : r.content.map((p) => p.text ?? "").join("") };
  },
  // The OpenAI Agents SDK: an agent with one function tool, which it calls
  // once and then answers. A zod schema is strict (the SDK's default, sent
  // as strict: true); a JSON schema may say strict: false.
  "agents.responses.tools": (model) => agentRun(new OpenAIResponsesModel(oai, model), true),
  "agents.responses.nonstrict.tools": (model) => agentRun(new OpenAIResponsesModel(oai, model), false),
  "agents.chat.tools": (model) => agentRun(new OpenAIChatCompletionsModel(oai, model), true),
  "agents.chat.nonstrict.tools": (model) => agentRun(new OpenAIChatCompletionsModel(oai, model), false),
  "agents.responses.nonstrict.stream.tools": (model) => agentRun(new OpenAIResponsesModel(oai, model), false, true),
  "agents.chat.nonstrict.stream.tools": (model) => agentRun(new OpenAIChatCompletionsModel(oai, model), false, true),
  // With reasoning: the SDK gives the reasoning item back by id without
  // encrypted_content (it did not ask for it), and Claude needs its
  // signature on the turn after the tool call.
  "agents.responses.reasoning.nonstrict.tools": (model) =>
    agentRun(new OpenAIResponsesModel(oai, model), false, false, { reasoning: { effort: "low" } }),
  "agents.responses.reasoning.nonstrict.stream.tools": (model) =>
    agentRun(new OpenAIResponsesModel(oai, model), false, true, { reasoning: { effort: "low" } }),
  // The same over Chat Completions (reasoning_effort), which has no field
  // for the thinking and its signature: Claude still needs them on the
  // turn after the tool call, and the gateway keeps them for the key.
  "agents.chat.reasoning.nonstrict.tools": (model) =>
    agentRun(new OpenAIChatCompletionsModel(oai, model), false, false, { reasoning: { effort: "low" } }),
  "agents.chat.reasoning.nonstrict.stream.tools": (model) =>
    agentRun(new OpenAIChatCompletionsModel(oai, model), false, true, { reasoning: { effort: "low" } }),
  // A strict tool whose first call is forced (toolChoice "required"): the
  // SDK resets tool_choice after the call (resetToolChoice), so the
  // second turn has strict tools on auto.
  "agents.responses.required.tools": (model) => agentRun(new OpenAIResponsesModel(oai, model), true, false, { toolChoice: "required" }),
  "agents.chat.required.tools": (model) => agentRun(new OpenAIChatCompletionsModel(oai, model), true, false, { toolChoice: "required" }),
  // Structured output (outputType): the zod schema goes as a json_schema
  // format (Responses text.format, Chat Completions response_format) and
  // finalOutput is the parsed object.
  "agents.responses.output": (model) => agentOutput(new OpenAIResponsesModel(oai, model)),
  "agents.chat.output": (model) => agentOutput(new OpenAIChatCompletionsModel(oai, model)),
  "agents.responses.output.tools": (model) => agentOutput(new OpenAIResponsesModel(oai, model), true),
  "agents.chat.output.tools": (model) => agentOutput(new OpenAIChatCompletionsModel(oai, model), true),
  // truncation "auto" (Responses API only): a conversation that fits is
  // answered as it is.
  "agents.responses.truncation": async (model) => {
    const agent = new Agent({ name: "brief", instructions: "Be brief.", model: new OpenAIResponsesModel(oai, model), modelSettings: { truncation: "auto" } });
    const r = await run(agent, "say pong", { maxTurns: 1 });
    return { text: r.finalOutput };
  },
};

async function agentOutput(model, withTool = false) {
  const tools = [];
  const execute = async (input) => {
    tools.push(`get_weather ${JSON.stringify(input)}`);
    return "sunny, 21C";
  };
  const agent = new Agent({
    name: "structured", instructions: "Be brief.", model,
    outputType: z.object({ answer: z.string(), confidence: z.number(), tags: z.array(z.string()), sunny: z.boolean().nullable() }),
    tools: withTool ? [agentTool({ name: "get_weather", description: "Weather of a place", parameters: weather, strict: false, execute })] : [],
  });
  const r = await run(agent, withTool ? "weather in Paris?" : "say pong", { maxTurns: 3 });
  const out = r.finalOutput;
  if (out === null || typeof out !== "object" || typeof out.answer !== "string" || typeof out.confidence !== "number" || !Array.isArray(out.tags)) {
    throw new Error(`finalOutput ${JSON.stringify(out)}`);
  }
  return { text: out.answer, tools };
}

async function agentRun(model, strict, stream = false, modelSettings = {}) {
  const tools = [];
  const execute = async (input) => {
    tools.push(`get_weather ${JSON.stringify(input)}`);
    return "sunny, 21C";
  };
  const getWeather = strict
    ? agentTool({ name: "get_weather", description: "Weather of a place", parameters: z.object({ location: z.string() }), execute })
    : agentTool({ name: "get_weather", description: "Weather of a place", parameters: weather, strict: false, execute });
  const agent = new Agent({ name: "weather", instructions: "Be brief.", model, modelSettings, tools: [getWeather] });
  const r = await run(agent, "weather in Paris?", { maxTurns: 3, stream });
  if (stream) {
    const types = new Set();
    for await (const e of r) types.add(e.type === "raw_model_stream_event" ? e.data.type : e.type);
    await r.completed;
    if (r.error) throw r.error;
    if (!types.has("output_text_delta")) throw new Error(`no output_text_delta; saw ${[...types].join(" ")}`);
  }
  return { text: r.finalOutput, tools };
}

for (const model of models) {
  for (const [check, run] of Object.entries(checks)) {
    if (only.size && !only.has(check)) continue;
    const line = { client: check.split(".")[0], check, model };
    try {
      Object.assign(line, await run(model), { ok: true });
    } catch (e) {
      line.ok = false;
      line.status = e.status ?? e.statusCode ?? e.response?.status ?? e.cause?.statusCode;
      line.error = String(e.message ?? e).slice(0, 500);
      line.type = e.error?.error?.type ?? e.error?.type ?? e.type;
      line.code = e.code ?? e.error?.error?.code ?? e.error?.code;
      line.param = e.param ?? e.error?.error?.param ?? e.error?.param;
    }
    console.log(JSON.stringify(line));
  }
}
