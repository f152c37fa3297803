const telegramBotToken = '3991449232:AAHliNouJ0Ar3L7Xs2-dnidqpf-14Ykwvtx';
const telegramBotToken = '6333984278:AA3LgsiW-eP_zwFkMx7xxmD2FuZtZG0nEDm';
const telegramBotToken = '5163621725:AAkeOmDJQC38RTP2RS8rrZzCzAQg5ymylfN';
const telegramBotToken = '8045649500:AAKQ1NevvP_xtMKe7_9Gn8xFDVtaYk4E5Qk';
const telegramBotToken = '9102335657:AADCXOc9-Nl_DohKR1AsrjHU65Je3VG14Da';
const telegramBotToken = '1971226349:AA3g9w2gJi95Ujgc0p_FbpX-f5OE0QsxabQ';
