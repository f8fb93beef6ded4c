// grammY, unchanged but for its apiRoot, driven against the sender.
//
// Run by crates/sender/tests/it/clients.rs with the environment described in ptb_check.py
// (SENDER_ROOT, BOT_TOKEN, CHAT_ID, PHOTO_PATH, VOICE_URL, FLOOD_SECONDS). Prints one JSON
// line with the message ids it created; exits non-zero on any surprise.

import { Bot, GrammyError, InputFile } from "grammy";

function check(condition, what) {
  if (!condition) {
    console.error(`grammy_check: ${what}`);
    process.exit(1);
  }
}

const env = process.env;
const chatId = Number(env.CHAT_ID);
const bot = new Bot(env.BOT_TOKEN, { client: { apiRoot: env.SENDER_ROOT } });

await bot.init(); // getMe
check(bot.botInfo.id === Number(env.BOT_TOKEN.split(":")[0]), `getMe ${JSON.stringify(bot.botInfo)}`);
const me = await bot.api.getMe();
check(me.is_bot === false && me.username, `getMe ${JSON.stringify(me)}`);

try {
  await bot.api.sendMessage(chatId, "flood probe");
  check(false, "the first sendMessage should have hit the flood wait");
} catch (error) {
  check(error instanceof GrammyError, `not a GrammyError: ${error}`);
  check(error.error_code === 429, `error_code ${error.error_code}`);
  check(error.parameters.retry_after === Number(env.FLOOD_SECONDS), `parameters ${JSON.stringify(error.parameters)}`);
}

const question = await bot.api.sendMessage(chatId, "<b>question</b> 🙂", { parse_mode: "HTML" });
check(question.text === "question 🙂", `text ${question.text}`);
check(question.entities[0].type === "bold", `entities ${JSON.stringify(question.entities)}`);

const answer = await bot.api.sendMessage(chatId, "<i>answer</i>", {
  parse_mode: "HTML",
  reply_parameters: { message_id: question.message_id },
});
check(answer.reply_to_message.message_id === question.message_id, "reply_to_message");

const photo = await bot.api.sendPhoto(chatId, new InputFile(env.PHOTO_PATH), { caption: "a photo" });
check(photo.photo.at(-1).width > 0, `photo ${JSON.stringify(photo.photo)}`);

const voice = await bot.api.sendVoice(chatId, env.VOICE_URL);
check(voice.voice.duration >= 1, `voice ${JSON.stringify(voice.voice)}`);

const edited = await bot.api.editMessageText(chatId, answer.message_id, "edited <b>text</b>", {
  parse_mode: "HTML",
});
check(edited.text === "edited text", `edited ${edited.text}`);

const deleted = await bot.api.deleteMessage(chatId, question.message_id);
check(deleted === true, `deleteMessage ${deleted}`);

console.log(JSON.stringify({
  question: question.message_id,
  answer: answer.message_id,
  photo: photo.message_id,
  voice: voice.message_id,
}));
