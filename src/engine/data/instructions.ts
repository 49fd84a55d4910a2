/**
 * Built-in instruction sets: the procedural tasks (procedural.ts) phrased as chats, one user turn
 * asking in words and one assistant turn with the exact answer. They exercise the chat path (the
 * model's chat_template, loss on the assistant's tokens only) with data whose answers can be scored
 * by exact match, so instruction tuning shows as accuracy, not only as loss.
 *
 * The conversation is a pure function of the procedural example, so the split, the run seed and
 * the content hash behave exactly as for the procedural sets they come from.
 */
import type { Conversation } from './chat';
import type { ProceduralTask } from './procedural';
import type { Example } from './types';

type TaskId = ProceduralTask['id'];

export const INSTRUCTION_SETS: Readonly<Record<string, { task: TaskId; label: string; description: string }>> = {
  'chat-addition': {
    task: 'addition',
    label: 'Instructions: addition',
    description: 'Chats: "What is 123 + 45? Answer with the number only." → "168".',
  },
  'chat-reversal': {
    task: 'reversal',
    label: 'Instructions: word reversal',
    description: 'Chats: "Reverse the order of these words: cat dog sun" → "sun dog cat".',
  },
  'chat-dates': {
    task: 'dates',
    label: 'Instructions: date conversion',
    description: 'Chats: "Write the date 2024-03-07 in words, US style." → "March 7, 2024".',
  },
};

/** The user's question for a procedural example (its prompt without the trailing "="). */
export function instructionFor(task: TaskId, e: Example): string {
  const q = e.prompt.replace(/=$/, '');
  switch (task) {
    case 'addition':
      return `What is ${q.replace('+', ' + ')}? Answer with the number only.`;
    case 'reversal':
      return `Reverse the order of these words: ${q.replace(/^reverse: /, '')}`;
    case 'dates':
      return `Write the date ${q} in words, US style.`;
  }
}

export function toConversation(task: TaskId, e: Example): Conversation {
  return {
    messages: [
      { role: 'user', content: instructionFor(task, e) },
      { role: 'assistant', content: e.completion },
    ],
  };
}
