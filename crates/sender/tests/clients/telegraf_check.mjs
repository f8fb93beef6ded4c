// telegraf 4, unchanged but for its apiRoot and token, driven against the sender.
//
// Run by crates/sender/tests/it/clients.rs with the environment described in README.md (the same
// for every script). Prints one JSON line with the message ids it created; exits non-zero on any
// surprise.
//
// Download: telegraf's own helper is `getFileLink` (getFile, then the URL under apiRoot); it has
// no fetch of its own, so the link is fetched with node's fetch.

import { writeFile } from "node:fs/promises";
import { Input, Telegraf, TelegramError } from "telegraf";

function check(condition, what) {
  if (!condition) {
    console.error(`telegraf_check: ${what}`);
    process.exit(1);
  }
}

const env = process.env;
const chatId = Number(env.CHAT_ID);
const otherChatId = Number(env.OTHER_CHAT_ID);
const bot = new Telegraf(env.BOT_TOKEN, { telegram: { apiRoot: env.SENDER_ROOT } });
const tg = bot.telegram;

const me = await tg.getMe();
check(me.id === Number(env.BOT_TOKEN.split(":")[0]), `getMe ${JSON.stringify(me)}`);
check(me.is_bot === false && me.username, `getMe ${JSON.stringify(me)}`);

try {
  await tg.sendMessage(Number(env.FLOOD_CHAT_ID), "flood probe");
  check(false, "the first sendMessage should have hit the flood wait");
} catch (error) {
  check(error instanceof TelegramError, `not a TelegramError: ${error}`);
  check(error.code === 429, `code ${error.code}`);
  check(error.parameters.retry_after === Number(env.FLOOD_SECONDS), `parameters ${JSON.stringify(error.parameters)}`);
}

try {
  await tg.sendMessage(Number(env.UNKNOWN_CHAT_ID), "nobody");
  check(false, "an unknown chat should be a TelegramError");
} catch (error) {
  check(error instanceof TelegramError, `not a TelegramError: ${error}`);
  check(error.code === 400 && /chat not found/i.test(error.description), `${error.description}`);
}

const question = await tg.sendMessage(chatId, "<b>question</b> 🙂", { parse_mode: "HTML" });
check(question.text === "question 🙂", `text ${question.text}`);
check(question.entities[0].type === "bold", `entities ${JSON.stringify(question.entities)}`);

const answer = await tg.sendMessage(chatId, "<i>answer</i>", {
  parse_mode: "HTML",
  reply_parameters: { message_id: question.message_id },
});
check(answer.reply_to_message.message_id === question.message_id, "reply_to_message");

const photo = await tg.sendPhoto(chatId, Input.fromLocalFile(env.PHOTO_PATH), { caption: "a photo" });
check(photo.photo.at(-1).width > 0, `photo ${JSON.stringify(photo.photo)}`);

const voice = await tg.sendVoice(chatId, Input.fromLocalFile(env.VOICE_PATH));
check(voice.voice.duration >= 1, `voice ${JSON.stringify(voice.voice)}`);

const document = await tg.sendDocument(chatId, Input.fromLocalFile(env.DOCUMENT_PATH), { caption: "a document" });
check(document.document.file_id, `document ${JSON.stringify(document.document)}`);

const edited = await tg.editMessageText(chatId, answer.message_id, undefined, "edited <b>text</b>", {
  parse_mode: "HTML",
});
check(edited.text === "edited text", `edited ${edited.text}`);

const deleted = await tg.deleteMessage(chatId, question.message_id);
check(deleted === true, `deleteMessage ${deleted}`);

const album = await tg.sendMediaGroup(chatId, [
  { type: "photo", media: Input.fromLocalFile(env.PHOTO_PATH), caption: "album" },
  { type: "photo", media: Input.fromLocalFile(env.PHOTO_PATH) },
]);
check(album.length === 2 && album[0].media_group_id, `album ${JSON.stringify(album)}`);

const forward = await tg.forwardMessage(otherChatId, chatId, photo.message_id);
check(forward.forward_origin && forward.photo, `forward ${JSON.stringify(forward)}`);

const copy = await tg.copyMessage(otherChatId, chatId, answer.message_id);
check(copy.message_id > 0, `copy ${JSON.stringify(copy)}`);

const action = await tg.sendChatAction(chatId, "typing");
check(action === true, `sendChatAction ${action}`);

const location = await tg.sendLocation(chatId, 52.52, 13.405);
check(location.location.latitude === 52.52, `location ${JSON.stringify(location.location)}`);

const chat = await tg.getChat(chatId);
check(chat.id === chatId && chat.type === "private", `getChat ${JSON.stringify(chat)}`);

const link = await tg.getFileLink(document.document.file_id);
const response = await fetch(link);
check(response.ok, `download ${response.status}`);
await writeFile(env.DOWNLOAD_PATH, Buffer.from(await response.arrayBuffer()));

const poll = await tg.sendPoll(chatId, "Which?", ["yes", "no"]);
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
