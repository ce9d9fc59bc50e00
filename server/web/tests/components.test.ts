import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/svelte';
import StatusBadge from '../src/lib/components/StatusBadge.svelte';
import Confirm from '../src/lib/components/Confirm.svelte';
import { allows } from '../src/lib/session';

afterEach(cleanup);

describe('components', () => {
	it('StatusBadge shows and marks the status', () => {
		render(StatusBadge, { status: 'offline' });
		const b = screen.getByText('offline');
		expect(b.dataset.status).toBe('offline');
		expect(b.className).toContain('offline');
	});

	it('Confirm runs the action only on its button', async () => {
		// jsdom has no modal dialogs: stand in for showModal/close
		HTMLDialogElement.prototype.showModal = function () {
			this.open = true;
		};
		HTMLDialogElement.prototype.close = function () {
			this.open = false;
		};
		const onconfirm = vi.fn();
		const oncancel = vi.fn();
		render(Confirm, { open: true, title: 'Revoke x?', message: 'Gone for good.', action: 'Revoke', onconfirm, oncancel });
		expect(screen.getByRole('heading', { name: 'Revoke x?' })).toBeTruthy();
		await fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
		expect(oncancel).toHaveBeenCalledOnce();
		expect(onconfirm).not.toHaveBeenCalled();
		await fireEvent.click(screen.getByRole('button', { name: 'Revoke' }));
		expect(onconfirm).toHaveBeenCalledOnce();
	});
});

describe('roles', () => {
	it('viewer < operator < admin', () => {
		expect(allows('viewer', 'viewer')).toBe(true);
		expect(allows('viewer', 'operator')).toBe(false);
		expect(allows('operator', 'operator')).toBe(true);
		expect(allows('operator', 'admin')).toBe(false);
		expect(allows('admin', 'operator')).toBe(true);
		expect(allows(undefined, 'viewer')).toBe(false);
	});
});
