// grammY, unchanged but for its apiRoot and token, driven against the sender.
//
// Run by crates/sender/tests/it/clients.rs with the environment described in README.md (the same
// for every script). Prints one JSON line with the message ids it created; exits non-zero on any
// surprise.
//
// Download: grammY's own helper is the files plugin (@grammyjs/files). Its link builder is used
// as is (`file.getUrl()`, built from apiRoot); its `download()` fetches with node's `https`
// module only, so it cannot fetch an http:// URL (a plugin limitation, not the server's), and the
// URL it built is fetched with node's fetch instead.

import { writeFile } from "node:fs/promises";
import { Bot, GrammyError, InputFile, InputMediaBuilder } from "grammy";
import { hydrateFiles } from "@grammyjs/files";

function check(condition, what) {
  if (!condition) {
    console.error(`grammy_check: ${what}`);
    process.exit(1);
  }
}

const env = process.env;
const chatId = Number(env.CHAT_ID);
const otherChatId = Number(env.OTHER_CHAT_ID);
const bot = new Bot(env.BOT_TOKEN, { client: { apiRoot: env.SENDER_ROOT } });
bot.api.config.use(hydrateFiles(bot.token, { apiRoot: env.SENDER_ROOT }));

await bot.init(); // getMe
check(bot.botInfo.id === Number(env.BOT_TOKEN.split(":")[0]), `getMe ${JSON.stringify(bot.botInfo)}`);
const me = await bot.api.getMe();
check(me.is_bot === false && me.username, `getMe ${JSON.stringify(me)}`);

try {
  await bot.api.sendMessage(Number(env.FLOOD_CHAT_ID), "flood probe");
  check(false, "the first sendMessage should have hit the flood wait");
} catch (error) {
  check(error instanceof GrammyError, `not a GrammyError: ${error}`);
  check(error.error_code === 429, `error_code ${error.error_code}`);
  check(error.parameters.retry_after === Number(env.FLOOD_SECONDS), `parameters ${JSON.stringify(error.parameters)}`);
}

try {
  await bot.api.sendMessage(Number(env.UNKNOWN_CHAT_ID), "nobody");
  check(false, "an unknown chat should be a GrammyError");
} catch (error) {
  check(error instanceof GrammyError, `not a GrammyError: ${error}`);
  check(error.error_code === 400 && /chat not found/i.test(error.description), `${error.description}`);
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

const voice = await bot.api.sendVoice(chatId, new InputFile(env.VOICE_PATH));
check(voice.voice.duration >= 1, `voice ${JSON.stringify(voice.voice)}`);

const document = await bot.api.sendDocument(chatId, new InputFile(env.DOCUMENT_PATH), { caption: "a document" });
check(document.document.file_id, `document ${JSON.stringify(document.document)}`);

const edited = await bot.api.editMessageText(chatId, answer.message_id, "edited <b>text</b>", {
  parse_mode: "HTML",
});
check(edited.text === "edited text", `edited ${edited.text}`);

const deleted = await bot.api.deleteMessage(chatId, question.message_id);
check(deleted === true, `deleteMessage ${deleted}`);

const album = await bot.api.sendMediaGroup(chatId, [
  InputMediaBuilder.photo(new InputFile(env.PHOTO_PATH), { caption: "album" }),
  InputMediaBuilder.photo(new InputFile(env.PHOTO_PATH)),
]);
check(album.length === 2 && album[0].media_group_id, `album ${JSON.stringify(album)}`);

const forward = await bot.api.forwardMessage(otherChatId, chatId, photo.message_id);
check(forward.forward_origin && forward.photo, `forward ${JSON.stringify(forward)}`);

const copy = await bot.api.copyMessage(otherChatId, chatId, answer.message_id);
check(copy.message_id > 0, `copy ${JSON.stringify(copy)}`);

const action = await bot.api.sendChatAction(chatId, "typing");
check(action === true, `sendChatAction ${action}`);

const location = await bot.api.sendLocation(chatId, 52.52, 13.405);
check(location.location.latitude === 52.52, `location ${JSON.stringify(location.location)}`);

const chat = await bot.api.getChat(chatId);
check(chat.id === chatId && chat.type === "private", `getChat ${JSON.stringify(chat)}`);

const file = await bot.api.getFile(document.document.file_id);
const response = await fetch(file.getUrl());
check(response.ok, `download ${response.status}`);
await writeFile(env.DOWNLOAD_PATH, Buffer.from(await response.arrayBuffer()));

const poll = await bot.api.sendPoll(chatId, "Which?", ["yes", "no"]);
check(JSON.stringify(poll.poll.options.map((o) => o.text)) === '["yes","no"]', `poll ${JSON.stringify(poll.poll)}`);

console.log(JSON.stringify({
  question: question.message_id,
  answer: answer.message_id,
  photo: photo.message_id,
  voice: voice.message_id,
  document: document.message_id,
  album: album.map((m) => m.message_id),
  forward: forward.message_id,
  copy: copy.message_id,
  location: location.message_id,
  poll: poll.message_id,
  chat_first_name: chat.first_name,
}));
