#!/usr/bin/env bash
# Regenerate Switchboard's demo prompts (docs: shared/sip-peers.md §8).
#
#   sounds/make-prompts.sh           # regenerate every WAV, then check them
#   sounds/make-prompts.sh --check   # only check the committed WAVs
#
# Needs espeak-ng and sox (Debian: apt-get install -y espeak-ng sox libsox-fmt-all).
#
# Layout (what media::prompts::PromptLibrary loads):
#   sounds/<lang>/<name>.wav        per-language prompts: en (default), fa, ru
#   sounds/<lang>/digits/0..9.wav   digits, for say_digits / say_number
#   sounds/en/numbers/*.wav         English number words (10-19, 20..90, hundred, thousand, million)
#   sounds/common/*.wav             language-neutral sounds, reached by fallback from every
#                                   language: moh (music on hold), voicemail-beep, and
#                                   language-menu (each option spoken in its own language)
#
# Every file is 8 kHz mono 16-bit PCM. The script is idempotent: it regenerates the
# same bytes every time (sox runs without dither, -D), so a re-run leaves git clean
# unless espeak-ng or sox changed. Each prompt must have speech energy (RMS above
# -40 dBFS) and last longer than 0.3 s; the check fails otherwise.
set -euo pipefail
cd "$(dirname "$0")"

SPEED=${SPEED:-150}   # espeak-ng words per minute
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# to8k IN OUT: telephone-band cleanup, trim leading/trailing silence, pad, normalise.
to8k() {
    sox -D "$1" -r 8000 -c 1 -b 16 -e signed-integer "$2" \
        gain -6 highpass 100 rate -v 8000 \
        silence 1 0.02 0.3% reverse silence 1 0.02 0.3% reverse \
        pad 0.05 0.2 gain -n -3
}

# speak LANG OUT TEXT: speak TEXT with LANG's espeak-ng voice into the WAV file OUT.
speak() {
    local lang=$1 out=$2 text=$3 voice
    case $lang in en) voice=en-us ;; *) voice=$lang ;; esac
    mkdir -p "$(dirname "$out")"
    espeak-ng -v "$voice" -s "$SPEED" -w "$tmp/raw.wav" "$text"
    to8k "$tmp/raw.wav" "$out"
}

# say LANG NAME TEXT: the prompt LANG/NAME.wav.
say() { speak "$1" "$1/$2.wav" "$3"; }

# ---------------------------------------------------------------- English
en() {
    say en welcome "Thank you for calling Switchboard support."
    say en main-menu "For billing, press 1. For technical support, press 2. For order status, press 3. To speak to an operator, press 0."
    say en main-menu-short "Billing, 1. Support, 2. Orders, 3. Operator, 0."
    say en invalid "Sorry, that is not a valid choice."
    say en timeout "Sorry, I did not hear your choice."
    say en enter-order "Please enter your order number, followed by the hash key."
    say en closed "Our support centre is closed. Please leave a message after the tone."
    say en goodbye "Thank you for calling. Goodbye."
    say en please-hold "All our agents are busy. Please hold."
    say en position "You are number"
    say en in-queue "in the queue."
    say en wait-minutes "Your expected wait is about"
    say en minutes "minutes."
    say en callback-offer "To be called back instead of waiting, press 1."
    say en callback-confirm "We will call you back on"
    say en callback-press "To confirm, press 1. To keep waiting, press 2. To enter a different number, press 3."
    say en callback-enter "Please enter the number we should call you back on, followed by the hash key."
    say en callback-booked "Your callback is booked. You keep your place in the queue, and we will call you when an agent is free."
    say en echo-test "You are in the echo test. Speak, and you will hear yourself."
    say en survey "Please rate this call from 1 to 5."
    say en thank-you "Thank you."
    local words=(zero one two three four five six seven eight nine)
    for d in "${!words[@]}"; do say en "digits/$d" "${words[$d]}"; done
    local teens=(ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen)
    for i in "${!teens[@]}"; do say en "numbers/$((10 + i))" "${teens[$i]}"; done
    local tens=(twenty thirty forty fifty sixty seventy eighty ninety)
    for i in "${!tens[@]}"; do say en "numbers/$((20 + 10 * i))" "${tens[$i]}"; done
    say en numbers/hundred "hundred"
    say en numbers/thousand "thousand"
    say en numbers/million "million"
}

# ---------------------------------------------------------------- Persian (espeak-ng voice fa)
fa() {
    say fa welcome "از تماس شما با پشتیبانی سوئیچ‌بورد سپاسگزاریم."
    say fa main-menu "برای امور مالی، یک را فشار دهید. برای پشتیبانی فنی، دو را فشار دهید. برای پیگیری سفارش، سه را فشار دهید. برای صحبت با اپراتور، صفر را فشار دهید."
    say fa main-menu-short "امور مالی، یک. پشتیبانی، دو. سفارش‌ها، سه. اپراتور، صفر."
    say fa invalid "متأسفیم، این گزینه معتبر نیست."
    say fa timeout "متأسفیم، انتخاب شما را نشنیدم."
    say fa enter-order "لطفاً شماره سفارش خود را وارد کنید و سپس کلید مربع را فشار دهید."
    say fa closed "مرکز پشتیبانی ما اکنون تعطیل است. لطفاً پس از شنیدن صدای بوق پیام بگذارید."
    say fa goodbye "از تماس شما متشکریم. خدانگهدار."
    say fa please-hold "همه کارشناسان ما مشغول هستند. لطفاً منتظر بمانید."
    say fa position "شما نفر"
    say fa in-queue "در صف هستید."
    say fa wait-minutes "زمان تقریبی انتظار شما"
    say fa minutes "دقیقه است."
    say fa callback-offer "اگر می‌خواهید به جای انتظار با شما تماس بگیریم، یک را فشار دهید."
    say fa callback-confirm "ما با این شماره با شما تماس می‌گیریم"
    say fa callback-press "برای تأیید، یک را فشار دهید. برای ادامه انتظار، دو را فشار دهید. برای وارد کردن شماره دیگر، سه را فشار دهید."
    say fa callback-enter "لطفاً شماره‌ای را که باید با آن تماس بگیریم وارد کنید و در پایان کلید مربع را فشار دهید."
    say fa callback-booked "درخواست تماس شما ثبت شد. نوبت شما در صف حفظ می‌شود و وقتی کارشناسی آزاد شد با شما تماس می‌گیریم."
    say fa echo-test "شما در آزمون پژواک هستید. صحبت کنید تا صدای خود را بشنوید."
    say fa survey "لطفاً به این تماس از یک تا پنج امتیاز دهید."
    say fa thank-you "سپاسگزاریم."
    local words=(صفر یک دو سه چهار پنج شش هفت هشت نه)
    for d in "${!words[@]}"; do say fa "digits/$d" "${words[$d]}"; done
}

# ---------------------------------------------------------------- Russian (espeak-ng voice ru)
ru() {
    say ru welcome "Спасибо, что позвонили в службу поддержки Свитчборд."
    say ru main-menu "По вопросам оплаты нажмите один. Для технической поддержки нажмите два. Чтобы узнать статус заказа, нажмите три. Чтобы поговорить с оператором, нажмите ноль."
    say ru main-menu-short "Оплата, один. Поддержка, два. Заказы, три. Оператор, ноль."
    say ru invalid "Извините, такого варианта нет."
    say ru timeout "Извините, я не услышал ваш выбор."
    say ru enter-order "Пожалуйста, введите номер заказа и нажмите решётку."
    say ru closed "Наш центр поддержки закрыт. Пожалуйста, оставьте сообщение после сигнала."
    say ru goodbye "Спасибо за звонок. До свидания."
    say ru please-hold "Все операторы заняты. Пожалуйста, оставайтесь на линии."
    say ru position "Ваш номер"
    say ru in-queue "в очереди."
    say ru wait-minutes "Примерное время ожидания"
    say ru minutes "минут."
    say ru callback-offer "Чтобы мы перезвонили вам вместо ожидания, нажмите один."
    say ru callback-confirm "Мы перезвоним вам по номеру"
    say ru callback-press "Чтобы подтвердить, нажмите один. Чтобы продолжить ожидание, нажмите два. Чтобы ввести другой номер, нажмите три."
    say ru callback-enter "Пожалуйста, введите номер для обратного звонка и нажмите решётку."
    say ru callback-booked "Обратный звонок заказан. Ваше место в очереди сохранено, мы позвоним, когда освободится оператор."
    say ru echo-test "Это эхо-тест. Говорите, и вы услышите себя."
    say ru survey "Пожалуйста, оцените этот звонок от одного до пяти."
    say ru thank-you "Спасибо."
    local words=(ноль один два три четыре пять шесть семь восемь девять)
    for d in "${!words[@]}"; do say ru "digits/$d" "${words[$d]}"; done
}

# ---------------------------------------------------------------- language-neutral
common() {
    mkdir -p common
    # Language menu: each option in its own language, spoken segment by segment.
    speak en "$tmp/lm1.wav" "For English, press 1."
    speak fa "$tmp/lm2.wav" "برای فارسی، دو را فشار دهید."
    speak ru "$tmp/lm3.wav" "Для русского языка нажмите три."
    sox -D "$tmp/lm1.wav" "$tmp/lm2.wav" "$tmp/lm3.wav" common/language-menu.wav

    # Voicemail beep: 1 kHz, 300 ms, 5 ms ramps (no click), then 100 ms of silence.
    sox -D -n -r 8000 -c 1 -b 16 -e signed-integer common/voicemail-beep.wav \
        synth 0.3 sine 1000 fade 0.005 0.3 0.005 gain -8 pad 0 0.1

    # Music on hold: 20 s, I-V-vi-IV in C, plucked arpeggios over a soft sine pad,
    # twice. Each bar fades in and out, so looping the file does not click.
    local bar=0 chord
    for chord in "C4 E4 G4 C5" "G3 B3 D4 G4" "A3 C4 E4 A4" "F3 A3 C4 F4" \
                 "C4 E4 G4 E5" "G3 B3 D4 B4" "A3 C4 E4 C5" "F3 A3 C4 A4"; do
        set -- $chord
        sox -D -r 44100 -c 4 -n -c 1 "$tmp/arp.wav" \
            synth 2.5 pluck "$1" pluck "$2" pluck "$3" pluck "$4" \
            delay 0 0.35 0.7 1.05 remix - trim 0 2.5
        sox -D -r 44100 -c 3 -n -c 1 "$tmp/pad.wav" \
            synth 2.5 sine "$1" sine "$2" sine "$3" remix - gain -14 fade 0.4 2.5 0.6
        sox -D -m "$tmp/arp.wav" "$tmp/pad.wav" "$tmp/bar$bar.wav" fade 0.02 2.5 0.15
        bar=$((bar + 1))
    done
    sox -D "$tmp"/bar{0..7}.wav -r 8000 -c 1 -b 16 -e signed-integer common/moh.wav \
        lowpass 2800 reverb 25 50 60 gain -n -6
}

check() {
    local bad=0 f rms len
    while IFS= read -r f; do
        rms=$(sox "$f" -n stats 2>&1 | awk '/^RMS lev dB/ {print $4}')
        len=$(soxi -D "$f")
        if [[ $(soxi -r "$f") != 8000 || $(soxi -c "$f") != 1 || $(soxi -b "$f") != 16 ]]; then
            echo "BAD FORMAT $f: $(soxi "$f" | grep -E 'Sample Rate|Channels|Precision' | tr -s ' \n' ' ')"; bad=1
        fi
        if ! awk -v r="$rms" -v l="$len" 'BEGIN { exit !(r > -40 && l > 0.3) }'; then
            echo "TOO QUIET/SHORT $f: RMS ${rms} dB, ${len} s"; bad=1
        fi
    done < <(find en fa ru common -name '*.wav' | sort)
    echo "$(find en fa ru common -name '*.wav' | wc -l) prompts, $(du -sh --apparent-size . | cut -f1) total"
    return $bad
}

if [[ ${1:-} != --check ]]; then
    for cmd in espeak-ng sox soxi; do
        command -v $cmd >/dev/null || { echo "need $cmd (apt-get install -y espeak-ng sox libsox-fmt-all)" >&2; exit 1; }
    done
    rm -rf en fa ru common
    en
    fa
    ru
    common
fi
check
