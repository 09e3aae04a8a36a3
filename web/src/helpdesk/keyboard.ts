// Keyboard shortcuts: `/` focuses the search, `j`/`k` move through the list, `r` opens the reply box.
import { useEffect } from 'react';

function typing(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  return !!el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable);
}

export function useKeyboard(): void {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      if (e.key === '/') {
        const search = document.querySelector<HTMLInputElement>('[data-shortcut="search"]');
        if (search) {
          e.preventDefault();
          search.focus();
        }
      } else if (e.key === 'j' || e.key === 'k') {
        const items = Array.from(document.querySelectorAll<HTMLElement>('[data-list-item]'));
        if (!items.length) return;
        const at = items.findIndex((el) => el === document.activeElement || el.contains(document.activeElement));
        const next = at < 0 ? 0 : Math.min(items.length - 1, Math.max(0, at + (e.key === 'j' ? 1 : -1)));
        e.preventDefault();
        items[next].focus();
        items[next].scrollIntoView({ block: 'nearest' });
      } else if (e.key === 'r') {
        const reply = document.querySelector<HTMLTextAreaElement>('[data-shortcut="reply"]');
        if (reply) {
          e.preventDefault();
          reply.focus();
        }
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
