// grammY's own polling loop (bot.start) against the gateway.
//
// Run by crates/e2e/tests/it/polling.rs with SENDER_ROOT and BOT_TOKEN (see README.md). The
// handler answers the first text starting with "ping" with "pong: <text>" as a reply to it,
// prints one JSON line {"answered": <message id>} and stops the loop; other updates are left
// alone.

import { Bot } from "grammy";

const bot = new Bot(process.env.BOT_TOKEN, { client: { apiRoot: process.env.SENDER_ROOT } });

bot.hears(/^ping/, async (ctx) => {
  const message = ctx.message;
  await ctx.reply(`pong: ${message.text}`, { reply_parameters: { message_id: message.message_id } });
  console.log(JSON.stringify({ answered: message.message_id }));
  // Not awaited: stop() waits for the update being handled, which is this one.
  bot.stop();
});

await bot.start();
